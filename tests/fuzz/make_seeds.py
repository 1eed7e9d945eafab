#!/usr/bin/python3
"""make_seeds.py - writes the seed corpora of the binary-input fuzz targets
(codec_frame, codec_query, inq_stream, ring_record) from the layouts codec.h
and ring.h document, so that the seeds are reviewable and can be made again.

Usage: /usr/bin/python3 tests/fuzz/make_seeds.py   (Debian's python3-msgpack)
The text targets' seeds (trace_line, trace_load) are plain trace text."""
import os
import struct

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
MSG, QUERY, ANSWER, RECORDS, STATS, READY, COLLECT, END = range(1, 9)

def body(*fields):
    return msgpack.packb(list(fields), use_bin_type=True)

def frame(b):
    return struct.pack("<I", len(b)) + b

def payload(seq, n):
    return bytes((seq + i) & 0xFF for i in range(n))

def record(wid="w-1", state=1, n=7):
    # worker_id, state, msgs, transitions, invalid, jobs, failures, bytes,
    # last_seq, ooo, corrupt, checksum
    return [wid, state, n, 2, 1, 1, 0, 300, n, 0, 0, 0xCBF29CE484222325]

def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

bodies = {
    "msg_empty": body(MSG, 1, "a", 0, b""),
    "msg_payload": body(MSG, 42, "id-17", 7, payload(42, 40)),
    "msg_big_seq": body(MSG, 2**64 - 1, "Aa0_.:-", 8, payload(2**64 - 1, 3)),
    "query": body(QUERY, 1, "id-3"),
    "query_max_id": body(QUERY, 2**63, "x" * 63),
    "answer_found": body(ANSWER, 9, record()),
    "answer_nil": body(ANSWER, 10, None),
    "records": body(RECORDS, [record("a", 0, 1), record("b", 4, 2), record("c", 3, 3)]),
    "records_empty": body(RECORDS, []),
    "stats": body(STATS, 3, 100000, 123456789, 500, 20480),
    "ready": body(READY, 1, 4242),
    "collect": body(COLLECT),
    "end": body(END, 3),
}
for name, b in bodies.items():
    write("codec_frame", name, frame(b))
# A stream: several frames back to back, the last one cut short.
stream = b"".join(frame(bodies[k]) for k in ("ready", "msg_payload", "query", "msg_empty", "collect"))
write("codec_frame", "stream", stream + frame(bodies["end"])[:-1])
# Hostile prefixes: over CODEC_BODY_MAX, and an array claiming 2^32-1 items.
write("codec_frame", "prefix_too_big", struct.pack("<I", 0xFFFFFFFF) + b"\x91\x07")
write("codec_frame", "array32_lie", frame(b"\xdd\xff\xff\xff\xff\x02"))
write("codec_frame", "bin32_lie", frame(b"\x95\x01\x01\xa1a\x00\xc6\xff\xff\xff\xff"))

# inq_stream: a byte that seeds how the stream is cut, then the stream.
write("inq_stream", "stream", b"\x01" + stream)
write("inq_stream", "one_byte_pieces", b"\x00" + stream)
big = frame(body(MSG, 7, "big", 7, payload(7, 5000)))  # larger than the 64-byte start
write("inq_stream", "growth", b"\x05" + frame(bodies["query"]) + big + frame(bodies["collect"]))
write("inq_stream", "records_then_bad", b"\x09" + frame(bodies["records"]) + struct.pack("<I", 0xFFFFFFFF))

for name in ("query", "query_max_id", "answer_found", "answer_nil"):
    write("codec_query", name, bodies[name])
write("codec_query", "query_bad_id", body(QUERY, 5, "a/b"))
write("codec_query", "answer_bad_state", body(ANSWER, 9, record(state=5)))
write("codec_query", "answer_str32_lie", b"\x93\x03\x01\x9c\xdb\xff\xff\xff\xff")

# Ring records (ring.h): struct ring_rec is rec_len u32, kind u8, event u8,
# id_len u8, reserved u8, slot u32, payload_len u32, frag_off u32,
# frag_len u32, seq u64, id_hash u64 (40 bytes); then id, then payload
# bytes, padded to 8. Input = size selector, pos (u64 LE), avail (u32 LE),
# data area.
RING_MSG, RING_PAD, RING_END = 1, 2, 3
HDR = struct.Struct("<IBBBBIIIIQQ")

def align8(n):
    return (n + 7) & ~7

def ring_msg(seq, wid, event, pay, frag_off=0, payload_len=None):
    wid = wid.encode()
    at = align8(HDR.size + len(wid))
    rec_len = align8(at + len(pay))
    h = HDR.pack(rec_len, RING_MSG, event, len(wid), 0, 0,
                 len(pay) if payload_len is None else payload_len, frag_off, len(pay), seq, 0)
    rec = h + wid + b"\0" * (at - HDR.size - len(wid)) + pay
    return rec + b"\0" * (rec_len - len(rec))

def ring_seed(name, k, pos, avail, area):
    write("ring_record", name, bytes([k]) + struct.pack("<QI", pos, avail) + area)

end = struct.pack("<IB", 8, RING_END) + b"\0" * 3
recs = ring_msg(1, "a", 0, b"") + ring_msg(2, "id-7", 7, payload(2, 13)) + end
ring_seed("three_records", 6, 0, len(recs), recs)  # 512-byte area
# A fragment: the second of two pieces of a 30-byte payload.
frag = ring_msg(5, "w", 7, payload(5, 30)[20:], frag_off=20, payload_len=30)
ring_seed("fragment", 6, 0, len(frag), frag)
# A PAD to the end of a 256-byte area, then a record at offset 0.
pad_at = 256 - 64
area = bytearray(256)
first = ring_msg(9, "b", 8, b"")
area[0:len(first)] = first
area[pad_at:pad_at + 8] = struct.pack("<IB", 64, RING_PAD) + b"\0" * 3
ring_seed("pad_then_wrap", 5, pad_at, 64 + len(first), bytes(area))
ring_seed("empty", 6, 0, 0, b"")
ring_seed("rec_len_lie", 6, 0, 64, struct.pack("<IB", 0xFFFFFFF8, RING_MSG) + b"\0" * 59)
# Short records (struct ring_short: rec_len u32, kind u8, event u8, 2
# reserved bytes, slot u32, reserved u32, seq u64; 24 bytes) between full ones.
SHORT = struct.Struct("<IBBHIIQ")
RING_SHORT = 4
shorts = ring_msg(1, "a", 0, b"") + SHORT.pack(24, RING_SHORT, 7, 0, 0, 0, 2) + \
    SHORT.pack(24, RING_SHORT, 1, 0, 0, 0, 3) + end
ring_seed("short_records", 6, 0, len(shorts), shorts)
