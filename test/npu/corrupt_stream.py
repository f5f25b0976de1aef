#!/usr/bin/python3
"""Writes a damaged copy of an NPU stream (runtime/qrt_npu.h layout), for
test/npu/errors.test.

usage: corrupt_stream.py IN.qcs OUT.qcs KIND [OPCODE FIELD VALUE]
KIND: truncate | magic | version | crc | section-offset | tensor-offset |
      sram-address | dma-rows | host-kernel | host-binding | field
field: field FIELD (0..10) of the first command with OPCODE set to VALUE
(an integer, 0x... allowed).
The structural kinds recompute the CRC, so that the executor's own checks
(not the CRC) must refuse the stream."""
import struct
import sys
import zlib

HEADER, ENTRY, CMD, TENSOR = 64, 24, 96, 96
OP_DMA_LOAD, OP_HOST = 1, 6


def sections(s):
    n = struct.unpack_from("<I", s, 20)[0]
    out = {}
    for i in range(n):
        kind, _, off, size = struct.unpack_from("<IIQQ", s, HEADER + i * ENTRY)
        out[kind] = (off, size, HEADER + i * ENTRY)
    return out


def commands(s):
    off = sections(s)[7][0]
    n = struct.unpack_from("<I", s, off)[0]
    for i in range(n):
        at = off + 4 + i * CMD
        yield at, struct.unpack_from("<I", s, at)[0]


def fix_crc(s):
    struct.pack_into("<I", s, 32, zlib.crc32(bytes(s[HEADER:])) & 0xffffffff)


def main():
    src, dst, kind = sys.argv[1:4]
    s = bytearray(open(src, "rb").read())
    if kind == "truncate":
        s = s[: len(s) // 2]
    elif kind == "magic":
        s[0:4] = b"ELF\x7f"
    elif kind == "version":
        struct.pack_into("<I", s, 4, 99)
    elif kind == "crc":
        s[-1] ^= 0x5a
    else:
        if kind == "section-offset":  # COMMANDS section starts past the end
            struct.pack_into("<Q", s, sections(s)[7][2] + 8, len(s) + 64)
        elif kind == "tensor-offset":  # tensor 0 placed past the DRAM arena
            toff = sections(s)[3][0]
            struct.pack_into("<Q", s, toff + 4 + 16, 1 << 30)
        elif kind == "sram-address":  # first DMA_LOAD writes past the SRAM
            at = next(a for a, op in commands(s) if op == OP_DMA_LOAD)
            struct.pack_into("<Q", s, at + 8 + 8 * 2, 1 << 24)
        elif kind == "dma-rows":  # first DMA_LOAD reads past its tensor
            at = next(a for a, op in commands(s) if op == OP_DMA_LOAD)
            struct.pack_into("<Q", s, at + 8 + 8 * 3, 1 << 20)
        elif kind == "host-kernel":  # first HOST names no runtime kernel
            at = next(a for a, op in commands(s) if op == OP_HOST)
            strings = sections(s)[2][0]
            name_off = struct.unpack_from("<Q", s, at + 8)[0]
            s[strings + name_off: strings + name_off + 4] = b"xxx_"
        elif kind == "field":
            op, field, value = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6], 0)
            at = next(a for a, o in commands(s) if o == op)
            struct.pack_into("<Q", s, at + 8 + 8 * field, value)
        elif kind == "host-binding":  # first HOST's params changed after compiling
            at = next(a for a, op in commands(s) if op == OP_HOST)
            hostdata = sections(s)[6][0]
            params = struct.unpack_from("<Q", s, at + 8 + 8)[0]
            s[hostdata + params] ^= 1
        else:
            sys.exit(f"unknown kind {kind}")
        fix_crc(s)
    open(dst, "wb").write(s)


main()
