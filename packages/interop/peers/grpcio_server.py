#!/usr/bin/env python3
"""Interop test server on Python grpcio, a peer for tsgrpc's interop matrix.

Implements grpc.testing.TestService as doc/interop-test-descriptions.md asks of a server.
Flags: --port=N [--use_tls=true --tls_cert_file=F --tls_key_file=F] [--exit_on_stdin_close=true]
Prints "interop server listening on port N" once bound (with --port=0 the port the system chose).

The generated stubs (grpc/testing/*_pb2*.py) must be on PYTHONPATH; they are generated at test time.

Limitation (see limitations.json): grpcio's servicer API never tells the handler whether a request
message arrived compressed, so expect_compressed cannot be checked; such requests are accepted.
Response compression is done per call with context.set_compression and per message with
context.disable_next_message_compression.
"""

import os
import sys
import threading
import time
from concurrent import futures

import grpc


def _extend_grpc_namespace():
    # The generated modules live in the package "grpc.testing", but "grpc" is grpcio's own package,
    # so Python would never look for "grpc/testing" in the PYTHONPATH directories. Add them.
    for entry in sys.path:
        candidate = os.path.join(entry or ".", "grpc")
        if os.path.isdir(os.path.join(candidate, "testing")) and candidate not in grpc.__path__:
            grpc.__path__.append(candidate)


_extend_grpc_namespace()

from grpc.testing import empty_pb2, messages_pb2, test_pb2_grpc  # noqa: E402

ECHO_INITIAL_KEY = "x-grpc-test-echo-initial"
ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin"


def parse_flags(argv):
    flags = {}
    for arg in argv:
        if not arg.startswith("--"):
            raise SystemExit("unexpected argument: " + arg)
        name, sep, value = arg[2:].partition("=")
        flags[name] = value if sep else "true"
    return flags


def is_true(value):
    return value is not None and value.lower() in ("true", "1", "yes")


def echo_metadata(context):
    """Send x-grpc-test-echo-initial back as initial metadata at once and arrange for
    x-grpc-test-echo-trailing-bin to be sent back as trailing metadata (also if the call fails)."""
    initial = []
    trailing = []
    for key, value in context.invocation_metadata():
        if key == ECHO_INITIAL_KEY:
            initial.append((key, value))
        elif key == ECHO_TRAILING_KEY:
            trailing.append((key, value))
    if trailing:
        context.set_trailing_metadata(tuple(trailing))
    return initial


def start_response(context, initial, compress):
    """Choose the call's compression (before headers go out) and send the echoed initial metadata."""
    if compress:
        context.set_compression(grpc.Compression.Gzip)
    if initial:
        context.send_initial_metadata(tuple(initial))


def check_response_type(context, response_type):
    if response_type != messages_pb2.COMPRESSABLE:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "unsupported response_type %d" % response_type)


def maybe_echo_status(context, echo_status):
    if echo_status is not None and echo_status.code != 0:
        # abort() keeps the trailing metadata set earlier, so the trailing echo survives the failure.
        context.abort(STATUS_BY_NUMBER.get(echo_status.code, grpc.StatusCode.UNKNOWN), echo_status.message)


STATUS_BY_NUMBER = {status.value[0]: status for status in grpc.StatusCode}


def payload(size):
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=b"\0" * size)


class TestService(test_pb2_grpc.TestServiceServicer):
    def EmptyCall(self, request, context):
        start_response(context, echo_metadata(context), False)
        return empty_pb2.Empty()

    def UnaryCall(self, request, context):
        initial = echo_metadata(context)
        # expect_compressed cannot be checked here (grpcio hides the request's compressed flag): accepted.
        compress = request.HasField("response_compressed") and request.response_compressed.value
        start_response(context, initial, compress)
        if request.HasField("response_status"):
            maybe_echo_status(context, request.response_status)
        check_response_type(context, request.response_type)
        if request.response_size < 0:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "negative response_size")
        return messages_pb2.SimpleResponse(payload=payload(request.response_size))

    def CacheableUnaryCall(self, request, context):
        start_response(context, echo_metadata(context), False)
        return messages_pb2.SimpleResponse(
            payload=messages_pb2.Payload(body=str(time.time_ns()).encode("ascii"))
        )

    def StreamingInputCall(self, request_iterator, context):
        start_response(context, echo_metadata(context), False)
        total = 0
        for request in request_iterator:
            total += len(request.payload.body)
        return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

    def _respond(self, request, context, state):
        """Yields the responses one StreamingOutputCallRequest asks for, observing interval_us."""
        if request.HasField("response_status"):
            maybe_echo_status(context, request.response_status)
        check_response_type(context, request.response_type)
        for params in request.response_parameters:
            if params.interval_us > 0:
                time.sleep(params.interval_us / 1e6)
            compressed = params.HasField("compressed") and params.compressed.value
            if state["compressing"] and not compressed:
                context.disable_next_message_compression()
            if params.size < 0:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "negative size")
            yield messages_pb2.StreamingOutputCallResponse(payload=payload(params.size))

    @staticmethod
    def _wants_compression(request):
        return any(p.HasField("compressed") and p.compressed.value for p in request.response_parameters)

    def StreamingOutputCall(self, request, context):
        initial = echo_metadata(context)
        state = {"compressing": self._wants_compression(request)}
        start_response(context, initial, state["compressing"])
        yield from self._respond(request, context, state)

    def FullDuplexCall(self, request_iterator, context):
        initial = echo_metadata(context)
        state = {"compressing": False}
        started = False
        for request in request_iterator:
            if not started:
                # The call's compression must be chosen before the headers; decide from the first request.
                state["compressing"] = self._wants_compression(request)
                start_response(context, initial, state["compressing"])
                started = True
            yield from self._respond(request, context, state)
        if not started:
            start_response(context, initial, False)

    def HalfDuplexCall(self, request_iterator, context):
        initial = echo_metadata(context)
        requests = list(request_iterator)
        state = {"compressing": any(self._wants_compression(r) for r in requests)}
        start_response(context, initial, state["compressing"])
        for request in requests:
            yield from self._respond(request, context, state)

    def UnimplementedCall(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "UnimplementedCall is not implemented")


def main():
    flags = parse_flags(sys.argv[1:])
    port = int(flags.get("port", "0"))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    test_pb2_grpc.add_TestServiceServicer_to_server(TestService(), server)
    address = "127.0.0.1:%d" % port
    if is_true(flags.get("use_tls")):
        with open(flags["tls_key_file"], "rb") as f:
            key = f.read()
        with open(flags["tls_cert_file"], "rb") as f:
            cert = f.read()
        bound = server.add_secure_port(address, grpc.ssl_server_credentials([(key, cert)]))
    else:
        bound = server.add_insecure_port(address)
    if bound == 0:
        raise SystemExit("could not bind " + address)
    server.start()
    print("interop server listening on port %d" % bound, flush=True)

    done = threading.Event()
    if is_true(flags.get("exit_on_stdin_close")):
        def watch_stdin():
            try:
                while sys.stdin.buffer.read(65536):
                    pass
            finally:
                done.set()

        threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    server.stop(0).wait(2)
    os._exit(0)


if __name__ == "__main__":
    main()
