"""CSI calls from Python's gRPC (the C core, as the C++ and Ruby clients) over the driver's unix
socket (tests/csi_driver.rs). Prints one JSON object: per authority the client sends, the
plugin's name, Probe's answer and the status of a CreateVolume without a name.

Usage: csi_grpc.py SOCKET

Authorities: `default` is what gRPC sends on its own for a unix socket (the path,
percent-encoded), `path` the bare socket path (what grpc-java sends). The messages are read by
hand (no generated stubs); every request here is the empty message."""

import json
import sys

import grpc


def fields(data):
    """The top-level fields of a protobuf message: number -> list of raw values."""
    out, i = {}, 0

    def varint():
        nonlocal i
        shift = value = 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return value

    while i < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            value = varint()
        elif wire == 2:
            n = varint()
            value, i = data[i : i + n], i + n
        else:
            raise ValueError(f"wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def call(channel, method, request=b""):
    stub = channel.unary_unary(method)
    return stub(request, timeout=10)


def session(socket, options):
    with grpc.insecure_channel(f"unix:{socket}", options=options) as ch:
        info = fields(call(ch, "/csi.v1.Identity/GetPluginInfo"))
        probe = fields(call(ch, "/csi.v1.Identity/Probe"))
        ready = fields(probe[1][0]).get(1, [0])[0] == 1 if 1 in probe else None
        try:
            call(ch, "/csi.v1.Controller/CreateVolume")
            create = "OK"
        except grpc.RpcError as e:
            create = e.code().name
        return {"name": info[1][0].decode(), "ready": ready, "create_without_name": create}


socket = sys.argv[1]
print(
    json.dumps(
        {
            "default": session(socket, []),
            "path": session(socket, [("grpc.default_authority", socket)]),
        }
    )
)
