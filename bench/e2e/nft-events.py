#!/usr/bin/python3
# nftables commit notifications, stamped on receipt (bench/e2e.ts, run inside a VTEP namespace
# with `ip netns exec`). A raw NETLINK_NETFILTER socket in group NFNLGRP_NFTABLES: the kernel
# sends these in the commit phase of every nftables transaction, ending with NFT_MSG_NEWGEN.
# Unlike `nft monitor`, nothing is decoded or printed per object (nft monitor looks up sets
# and chains to print elements and rules, which delays its first line), so the stamp is the
# receipt of the first datagram.
#   stdout, one line per datagram: "<epoch ms, 3 decimals> <n messages> <gen id or ->"
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNLGRP_NFTABLES = 7
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NFT_MSG_NEWGEN = (10 << 8) | 15
NFTA_GEN_ID = 1

s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind((0, 0))
s.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES)
out = sys.stdout
out.write("ready\n")
out.flush()
while True:
    try:
        data = s.recv(1 << 20)
    except OSError as e:  # ENOBUFS: notifications were lost; say so and go on
        out.write("%.3f 0 lost:%s\n" % (time.time() * 1000, e.errno))
        out.flush()
        continue
    t = time.time() * 1000
    n = 0
    gen = "-"
    off = 0
    while off + 16 <= len(data):
        length, mtype = struct.unpack_from("=IH", data, off)
        if length < 16:
            break
        n += 1
        if mtype == NFT_MSG_NEWGEN:
            a = off + 16 + 4  # nlmsghdr + nfgenmsg
            end = off + length
            gen = "0"
            while a + 4 <= end:
                alen, atype = struct.unpack_from("=HH", data, a)
                if alen < 4:
                    break
                if (atype & 0x7FFF) == NFTA_GEN_ID and alen >= 8:
                    gen = str(struct.unpack_from(">I", data, a + 4)[0])
                a += (alen + 3) & ~3
        off += (length + 3) & ~3
    out.write("%.3f %d %s\n" % (t, n, gen))
    out.flush()
