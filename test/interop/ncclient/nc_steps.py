#!/usr/bin/python3
"""Drives NETCONF sessions with ncclient (Debian python3-ncclient) for the interop tests.

Reads a JSON list of steps on stdin, runs them in order over named sessions, and prints one
JSON line per step: {"ok": true, ...} or {"ok": false, "tag": ..., "message": ..., "path": ...}.
A step is {"s": "<session name>", "op": "<operation>", ...arguments}.
"""
import json
import sys
import time

from ncclient import manager
from ncclient.devices.default import DefaultDeviceHandler
from ncclient.operations import RPCError
import ncclient.transport.ssh

# ncclient polls its send queue every 100 ms; keep the tests quick.
ncclient.transport.ssh.TICK = 0.001

BASE11 = "urn:ietf:params:netconf:base:1.1"
sessions = {}


def connect(step):
    base = DefaultDeviceHandler._BASE_CAPABILITIES
    if step.get("base10only"):
        DefaultDeviceHandler._BASE_CAPABILITIES = [c for c in base if c != BASE11]
    try:
        kw = dict(host=step.get("host", "127.0.0.1"), port=step["port"], username=step["user"],
                  hostkey_verify=False, timeout=step.get("timeout", 30))
        if "password" in step:
            kw["password"] = step["password"]
        if "key" in step:
            kw["key_filename"] = step["key"]
        if not step.get("keys_first"):
            kw["allow_agent"] = False
            kw["look_for_keys"] = "key" in step
        m = manager.connect(**kw)
    finally:
        DefaultDeviceHandler._BASE_CAPABILITIES = base
    m.raise_mode = 1  # RaiseMode.ALL: every rpc-error raises
    sessions[step["s"]] = m
    framing = "chunked" if m._session._base == ncclient.transport.session.NetconfBase.BASE_11 else "eom"
    return {"session_id": int(m.session_id), "framing": framing,
            "capabilities": sorted(m.server_capabilities)}


def run(step):
    op = step["op"]
    if op == "connect":
        return connect(step)
    if op == "sleep":
        time.sleep(step["seconds"])
        return {}
    m = sessions[step["s"]]
    flt = ("subtree", step["filter"]) if "filter" in step else None
    if op == "get_config":
        return {"xml": m.get_config(source=step.get("source", "running"), filter=flt).data_xml}
    if op == "get":
        return {"xml": m.get(filter=flt).data_xml}
    if op == "edit_config":
        kw = {k: step[k] for k in ("default_operation", "test_option", "error_option") if k in step}
        m.edit_config(config=step["config"], target=step.get("target", "running"), **kw)
        return {}
    if op == "commit":
        kw = {k: step[k] for k in ("confirmed", "timeout", "persist", "persist_id") if k in step}
        m.commit(**kw)
        return {}
    if op == "cancel_commit":
        m.cancel_commit(persist_id=step.get("persist_id"))
        return {}
    if op == "discard_changes":
        m.discard_changes()
        return {}
    if op == "validate":
        m.validate(source=step.get("source", "candidate"))
        return {}
    if op == "lock":
        m.lock(step.get("target", "running"))
        return {}
    if op == "unlock":
        m.unlock(step.get("target", "running"))
        return {}
    if op == "kill_session":
        victim = step["session_id"] if "session_id" in step else sessions[step["of"]].session_id
        m.kill_session(str(victim))
        return {}
    if op == "close_session":
        m.close_session()
        return {}
    if op == "connected":
        return {"connected": bool(m.connected)}
    if op == "get_schema":
        return {"text": m.get_schema(step["identifier"]).data}
    raise ValueError("unknown op " + op)


def main():
    for step in json.load(sys.stdin):
        try:
            out = run(step)
            out["ok"] = True
        except RPCError as e:
            out = {"ok": False, "tag": e.tag, "message": e.message, "path": e.path, "type": e.type}
        except Exception as e:  # transport errors, timeouts
            out = {"ok": False, "exception": type(e).__name__, "message": str(e)}
        out["op"] = step["op"]
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
