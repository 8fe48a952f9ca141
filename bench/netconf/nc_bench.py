#!/usr/bin/python3
"""NETCONF northbound benchmark driver (ncclient 0.6.13, Debian python3-ncclient).

Run by bench/netconf.ts, once per server and run. Reads one JSON object on stdin:
  {"port": N, "user": "...", "password": "..." | "key": "<private key file>",
   "n": 10000, "edits": 100, "rtt": 20}
and prints one JSON object on stdout with the timings (milliseconds) and checks.

ncclient.transport.ssh.TICK is set to 0.001 s (default 0.1): ncclient's SSH thread polls its
send queue every TICK, so with the default every sequential RPC would wait up to 100 ms before
it is even sent. The same client, settings and documents are used for every server.

Timed, in this order, on one session, each with time.perf_counter() around the ncclient call
(which includes building the request, framing, SSH, the server, and parsing the reply):
  edit_1:  one <edit-config> on running: 1 monitor server + n sessions (empty datastore before)
  get_1:   one <get-config> of running (the n sessions + the server), reply checked for n sessions
  rtt:     `rtt` small <get-config>s with a subtree filter selecting one session (median)
  edits:   `edits` sequential small <edit-config>s on running, alternately adding a new session
           and changing the vni of an existing one (p50, nearest-rank p99 = 99th of 100, max, total)
Then (untimed) a <get-config> checks that n + edits/2 sessions are there, and three invalid
edits show how each server validates (dangling leafref, duplicate unique host-id, failed must).
"""
import json
import math
import statistics
import sys
import time

from ncclient import manager
from ncclient.operations import RPCError
import ncclient.transport.ssh

ncclient.transport.ssh.TICK = 0.001

BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"
EM = "urn:evpn-mirror:yang:evpn-mirror"


def mac(i, hi=0x10):
    return "02:00:%02x:%02x:%02x:%02x" % (hi, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF)


def session_xml(name, i, vni=None):
    v = vni if vni is not None else 1 + i % 4000
    d = ("both", "from-host", "to-host")[i % 3]
    return ("<session><name>%s</name><vni>%d</vni><monitored-host><mac>%s</mac>"
            "<ipv4>10.%d.%d.%d</ipv4></monitored-host><monitor-server>SERV1</monitor-server>"
            "<direction>%s</direction></session>") % (
                name, v, mac(i), (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF, d)


SERVER = ("<monitor-server><name>SERV1</name><mac>02:00:00:00:00:01</mac>"
          "<ipv4>10.255.0.1</ipv4><host-id>1</host-id></monitor-server>")


def cfg(inner):
    return '<config xmlns="%s"><evpn-mirror xmlns="%s">%s</evpn-mirror></config>' % (BASE, EM, inner)


def count_sessions(reply):
    ele = reply.data_ele
    em = ele.find("{%s}evpn-mirror" % EM)
    return 0 if em is None else len(em.findall("{%s}session" % EM))


def timed(fn):
    t = time.perf_counter()
    r = fn()
    return (time.perf_counter() - t) * 1000.0, r


def pct(xs, p):
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


def main():
    a = json.load(sys.stdin)
    n, edits, rtt_n = a["n"], a["edits"], a.get("rtt", 20)
    kw = dict(host=a.get("host", "127.0.0.1"), port=a["port"], username=a["user"],
              hostkey_verify=False, allow_agent=False, look_for_keys=False, timeout=600)
    if "password" in a:
        kw["password"] = a["password"]
    if "key" in a:
        kw["key_filename"] = a["key"]
    out = {"tick": ncclient.transport.ssh.TICK}
    t_connect, m = timed(lambda: manager.connect(**kw))
    m.timeout = 600
    m.huge_tree = True
    out["connect_ms"] = t_connect
    out["framing"] = "chunked" if m._session._base == ncclient.transport.session.NetconfBase.BASE_11 else "eom"

    big = cfg(SERVER + "".join(session_xml("s%05d" % i, i) for i in range(n)))
    out["edit_bytes"] = len(big)
    out["edit_1_ms"], _ = timed(lambda: m.edit_config(target="running", config=big))
    out["get_1_ms"], r = timed(lambda: m.get_config(source="running"))
    out["get_bytes"] = len(r.xml)
    out["get_1_sessions"] = count_sessions(r)

    flt = ("subtree", '<evpn-mirror xmlns="%s"><session><name>s%05d</name></session></evpn-mirror>' % (EM, n // 2))
    rtts = []
    for _ in range(rtt_n):
        ms, r = timed(lambda: m.get_config(source="running", filter=flt))
        rtts.append(ms)
    out["rtt_sessions"] = count_sessions(r)
    out["rtt_p50_ms"] = statistics.median(rtts)

    lat = []
    for k in range(edits):
        if k % 2 == 0:
            doc = cfg(session_xml("new%05d" % k, n + k))  # adds one session
        else:
            j = (k * 7919) % n
            doc = cfg("<session><name>s%05d</name><vni>%d</vni></session>" % (j, 9000 + k))  # changes one
        ms, _ = timed(lambda: m.edit_config(target="running", config=doc))
        lat.append(ms)
    out["edits_ms"] = lat
    out["edits_p50_ms"] = statistics.median(lat)
    out["edits_p99_ms"] = pct(lat, 99)
    out["edits_max_ms"] = max(lat)
    out["edits_total_ms"] = sum(lat)

    out["final_sessions"] = count_sessions(m.get_config(source="running"))
    checks = {
        "dangling-leafref": cfg(session_xml("bad1", 1).replace("SERV1", "GHOST")),
        "duplicate-host-id": cfg("<monitor-server><name>S2</name><mac>02:00:00:00:00:02</mac><ipv4>10.255.0.2</ipv4><host-id>1</host-id></monitor-server>"),
        "must-ipv4-or-ipv6": cfg("<monitor-server><name>S3</name><mac>02:00:00:00:00:03</mac><host-id>3</host-id></monitor-server>"),
    }
    out["checks"] = {}
    for name, doc in checks.items():
        try:
            m.edit_config(target="running", config=doc)
            out["checks"][name] = "accepted"
        except RPCError as e:
            out["checks"][name] = "%s: %s" % (e.tag, (e.message or "").strip()[:100])
    m.close_session()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
