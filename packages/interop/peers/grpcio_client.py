#!/usr/bin/env python3
"""Interop test client on Python grpcio, a peer for tsgrpc's interop matrix.

Runs the test cases of doc/interop-test-descriptions.md against a TestService server.
Flags: --server_host=H --server_port=N --test_case=all|a,b,c [--use_tls=true] [--use_test_ca=true]
       [--ca_file=F] [--server_host_override=NAME]
Prints "PASS name", "FAIL name: reason" or "SKIP name: reason" per case and "N passed, N failed" at the
end; exits non-zero if a case failed. A case a grpcio client cannot fully perform (limitations.json)
is reported as SKIP with the reason. "NOTE name: ..." lines carry observations about the server.

The generated stubs (grpc/testing/*_pb2*.py) must be on PYTHONPATH; they are generated at test time.
"""

import os
import queue
import sys
import threading

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

CASE_DEADLINE_S = 20.0

ALL_CASES = [
    "empty_unary",
    "large_unary",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_streaming",
    "client_compressed_streaming",
    "server_streaming",
    "server_compressed_streaming",
    "ping_pong",
    "empty_stream",
    "timeout_on_sleeping_server",
    "cancel_after_begin",
    "cancel_after_first_response",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
]


class Skip(Exception):
    """A case this client cannot perform (fully); the message is the reason."""


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def zeros(n):
    return b"\0" * n


def payload(n):
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=zeros(n))


def check_payload(response_payload, size, what):
    body = response_payload.body
    check(len(body) == size, "%s: payload body is %d bytes, expected %d" % (what, len(body), size))
    check(body == zeros(size), "%s: payload body is not all zeros" % what)


def expect_rpc_error(fn, code, what):
    """Runs fn, which must fail with the given status code; returns the error."""
    try:
        fn()
    except grpc.RpcError as err:
        check(err.code() == code, "%s: expected status %s, got %s (%r)" % (what, code.name, err.code().name, err.details()))
        return err
    raise Failure("%s: expected status %s, but the call succeeded" % (what, code.name))


class RequestQueue:
    """A request iterator fed by the test: the call's sending thread blocks until the test puts a request."""

    _END = object()

    def __init__(self):
        self._queue = queue.Queue()

    def put(self, request):
        self._queue.put(request)

    def close(self):
        self._queue.put(self._END)

    def __iter__(self):
        return self

    def __next__(self):
        item = self._queue.get()
        if item is self._END:
            raise StopIteration
        return item


class Cases:
    def __init__(self, channel):
        self.stub = test_pb2_grpc.TestServiceStub(channel)
        self.unimplemented_stub = test_pb2_grpc.UnimplementedServiceStub(channel)
        self.notes = []

    def note(self, text):
        self.notes.append(text)

    def empty_unary(self):
        response = self.stub.EmptyCall(empty_pb2.Empty(), timeout=CASE_DEADLINE_S)
        check(isinstance(response, empty_pb2.Empty), "response is not an Empty")

    def _large_request(self, **fields):
        return messages_pb2.SimpleRequest(
            response_type=messages_pb2.COMPRESSABLE, response_size=314159, payload=payload(271828), **fields
        )

    def large_unary(self):
        response = self.stub.UnaryCall(self._large_request(), timeout=CASE_DEADLINE_S)
        check_payload(response.payload, 314159, "response")

    def client_compressed_unary(self):
        probe = self._large_request(expect_compressed=messages_pb2.BoolValue(value=True))
        try:
            self.stub.UnaryCall(probe, timeout=CASE_DEADLINE_S)
            self.note("server-accepted-uncompressed-probe: the uncompressed probe with expect_compressed=true succeeded")
        except grpc.RpcError as err:
            check(
                err.code() == grpc.StatusCode.INVALID_ARGUMENT,
                "probe: expected INVALID_ARGUMENT, got %s (%r)" % (err.code().name, err.details()),
            )
        response = self.stub.UnaryCall(
            self._large_request(expect_compressed=messages_pb2.BoolValue(value=True)),
            timeout=CASE_DEADLINE_S,
            compression=grpc.Compression.Gzip,
        )
        check_payload(response.payload, 314159, "compressed call")
        response = self.stub.UnaryCall(
            self._large_request(expect_compressed=messages_pb2.BoolValue(value=False)),
            timeout=CASE_DEADLINE_S,
            compression=grpc.Compression.NoCompression,
        )
        check_payload(response.payload, 314159, "uncompressed call")

    def server_compressed_unary(self):
        for compressed in (True, False):
            response = self.stub.UnaryCall(
                self._large_request(response_compressed=messages_pb2.BoolValue(value=compressed)),
                timeout=CASE_DEADLINE_S,
            )
            check_payload(response.payload, 314159, "response_compressed=%s" % compressed)
        raise Skip(
            "grpcio's Python API does not show whether a received message was compressed; both calls "
            "succeeded with correct payloads, but the compressed flag was not checked"
        )

    def client_streaming(self):
        sizes = [27182, 8, 1828, 45904]
        requests = [messages_pb2.StreamingInputCallRequest(payload=payload(n)) for n in sizes]
        response = self.stub.StreamingInputCall(iter(requests), timeout=CASE_DEADLINE_S)
        check(
            response.aggregated_payload_size == 74922,
            "aggregated_payload_size is %d, expected 74922" % response.aggregated_payload_size,
        )

    def client_compressed_streaming(self):
        raise Skip(
            "grpcio's Python client compresses all messages of a call or none: it cannot send a compressed "
            "request message followed by an uncompressed one on the same stream"
        )

    def server_streaming(self):
        sizes = [31415, 9, 2653, 58979]
        request = messages_pb2.StreamingOutputCallRequest(
            response_type=messages_pb2.COMPRESSABLE,
            response_parameters=[messages_pb2.ResponseParameters(size=n) for n in sizes],
        )
        responses = list(self.stub.StreamingOutputCall(request, timeout=CASE_DEADLINE_S))
        check(len(responses) == len(sizes), "got %d responses, expected %d" % (len(responses), len(sizes)))
        for i, (response, size) in enumerate(zip(responses, sizes)):
            check_payload(response.payload, size, "response %d" % i)

    def server_compressed_streaming(self):
        params = [(31415, True), (92653, False)]
        request = messages_pb2.StreamingOutputCallRequest(
            response_type=messages_pb2.COMPRESSABLE,
            response_parameters=[
                messages_pb2.ResponseParameters(size=n, compressed=messages_pb2.BoolValue(value=c)) for n, c in params
            ],
        )
        responses = list(self.stub.StreamingOutputCall(request, timeout=CASE_DEADLINE_S))
        check(len(responses) == 2, "got %d responses, expected 2" % len(responses))
        for i, (response, (size, _)) in enumerate(zip(responses, params)):
            check_payload(response.payload, size, "response %d" % i)
        raise Skip(
            "grpcio's Python API does not show whether a received message was compressed; the call "
            "succeeded with correct payloads, but the compressed flags were not checked"
        )

    def ping_pong(self):
        pairs = [(31415, 27182), (9, 8), (2653, 1828), (58979, 45904)]
        requests = RequestQueue()
        call = self.stub.FullDuplexCall(requests, timeout=CASE_DEADLINE_S)
        try:
            for i, (response_size, request_size) in enumerate(pairs):
                requests.put(
                    messages_pb2.StreamingOutputCallRequest(
                        response_type=messages_pb2.COMPRESSABLE,
                        response_parameters=[messages_pb2.ResponseParameters(size=response_size)],
                        payload=payload(request_size),
                    )
                )
                try:
                    response = next(call)
                except StopIteration:
                    raise Failure("the stream ended after %d responses, expected 4" % i)
                check_payload(response.payload, response_size, "response %d" % i)
            requests.close()
            extra = list(call)
            check(not extra, "got %d responses after the half-close, expected none" % len(extra))
            check(call.code() == grpc.StatusCode.OK, "status %s, expected OK" % call.code())
        finally:
            requests.close()
            call.cancel()

    def empty_stream(self):
        call = self.stub.FullDuplexCall(iter([]), timeout=CASE_DEADLINE_S)
        responses = list(call)
        check(not responses, "got %d responses, expected none" % len(responses))
        check(call.code() == grpc.StatusCode.OK, "status %s, expected OK" % call.code())

    def timeout_on_sleeping_server(self):
        requests = RequestQueue()
        requests.put(messages_pb2.StreamingOutputCallRequest(payload=payload(27182)))
        call = self.stub.FullDuplexCall(requests, timeout=0.001)
        try:
            expect_rpc_error(lambda: list(call), grpc.StatusCode.DEADLINE_EXCEEDED, "call with a 1ms deadline")
        finally:
            requests.close()

    def cancel_after_begin(self):
        requests = RequestQueue()
        future = self.stub.StreamingInputCall.future(requests, timeout=CASE_DEADLINE_S)
        try:
            future.cancel()
            check(future.cancelled(), "the call did not end as cancelled")
            check(future.code() == grpc.StatusCode.CANCELLED, "status %s, expected CANCELLED" % future.code())
        finally:
            requests.close()

    def cancel_after_first_response(self):
        requests = RequestQueue()
        call = self.stub.FullDuplexCall(requests, timeout=CASE_DEADLINE_S)
        try:
            requests.put(
                messages_pb2.StreamingOutputCallRequest(
                    response_type=messages_pb2.COMPRESSABLE,
                    response_parameters=[messages_pb2.ResponseParameters(size=31415)],
                    payload=payload(27182),
                )
            )
            response = next(call)
            check_payload(response.payload, 31415, "first response")
            call.cancel()
            expect_rpc_error(lambda: next(call), grpc.StatusCode.CANCELLED, "the call after cancel")
            check(call.code() == grpc.StatusCode.CANCELLED, "status %s, expected CANCELLED" % call.code())
        finally:
            requests.close()

    ECHO_INITIAL = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
    ECHO_TRAILING = ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")

    def _check_echo(self, call, what):
        initial = [tuple(m) for m in (call.initial_metadata() or ())]
        trailing = [tuple(m) for m in (call.trailing_metadata() or ())]
        check(self.ECHO_INITIAL in initial, "%s: initial metadata %r lacks %r" % (what, initial, self.ECHO_INITIAL))
        check(self.ECHO_TRAILING in trailing, "%s: trailing metadata %r lacks %r" % (what, trailing, self.ECHO_TRAILING))

    def custom_metadata(self):
        metadata = (self.ECHO_INITIAL, self.ECHO_TRAILING)
        response, call = self.stub.UnaryCall.with_call(
            self._large_request(), metadata=metadata, timeout=CASE_DEADLINE_S
        )
        check_payload(response.payload, 314159, "UnaryCall response")
        self._check_echo(call, "UnaryCall")

        request = messages_pb2.StreamingOutputCallRequest(
            response_type=messages_pb2.COMPRESSABLE,
            response_parameters=[messages_pb2.ResponseParameters(size=314159)],
            payload=payload(271828),
        )
        call = self.stub.FullDuplexCall(iter([request]), metadata=metadata, timeout=CASE_DEADLINE_S)
        responses = list(call)
        check(len(responses) == 1, "FullDuplexCall: got %d responses, expected 1" % len(responses))
        check_payload(responses[0].payload, 314159, "FullDuplexCall response")
        self._check_echo(call, "FullDuplexCall")

    def _check_status(self, err, code, message, what):
        check(err.code().value[0] == code, "%s: status code %s, expected %d" % (what, err.code().name, code))
        check(err.details() == message, "%s: status message %r, expected %r" % (what, err.details(), message))

    def status_code_and_message(self):
        code, message = 2, "test status message"
        status = messages_pb2.EchoStatus(code=code, message=message)
        err = expect_rpc_error(
            lambda: self.stub.UnaryCall(messages_pb2.SimpleRequest(response_status=status), timeout=CASE_DEADLINE_S),
            grpc.StatusCode.UNKNOWN,
            "UnaryCall",
        )
        self._check_status(err, code, message, "UnaryCall")
        request = messages_pb2.StreamingOutputCallRequest(response_status=status)
        err = expect_rpc_error(
            lambda: list(self.stub.FullDuplexCall(iter([request]), timeout=CASE_DEADLINE_S)),
            grpc.StatusCode.UNKNOWN,
            "FullDuplexCall",
        )
        self._check_status(err, code, message, "FullDuplexCall")

    def special_status_message(self):
        code, message = 2, "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
        status = messages_pb2.EchoStatus(code=code, message=message)
        err = expect_rpc_error(
            lambda: self.stub.UnaryCall(messages_pb2.SimpleRequest(response_status=status), timeout=CASE_DEADLINE_S),
            grpc.StatusCode.UNKNOWN,
            "UnaryCall",
        )
        self._check_status(err, code, message, "UnaryCall")

    def unimplemented_method(self):
        expect_rpc_error(
            lambda: self.stub.UnimplementedCall(empty_pb2.Empty(), timeout=CASE_DEADLINE_S),
            grpc.StatusCode.UNIMPLEMENTED,
            "TestService/UnimplementedCall",
        )

    def unimplemented_service(self):
        expect_rpc_error(
            lambda: self.unimplemented_stub.UnimplementedCall(empty_pb2.Empty(), timeout=CASE_DEADLINE_S),
            grpc.StatusCode.UNIMPLEMENTED,
            "UnimplementedService/UnimplementedCall",
        )


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


def make_channel(flags):
    host = flags.get("server_host", "localhost")
    port = int(flags["server_port"])
    target = "%s:%d" % (host, port)
    override = flags.get("server_host_override")
    options = []
    if override:
        options.append(("grpc.default_authority", override))
    if not is_true(flags.get("use_tls")):
        return grpc.insecure_channel(target, options=options)
    root_certificates = None
    if is_true(flags.get("use_test_ca")) or flags.get("ca_file"):
        ca_file = flags.get("ca_file")
        if not ca_file:
            raise SystemExit("--use_test_ca=true needs --ca_file (the test CA is made at test time)")
        with open(ca_file, "rb") as f:
            root_certificates = f.read()
    if override:
        options.append(("grpc.ssl_target_name_override", override))
    return grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=root_certificates), options=options)


def main():
    flags = parse_flags(sys.argv[1:])
    selected = flags.get("test_case", "all")
    names = ALL_CASES if selected == "all" else [n for n in selected.split(",") if n]
    unknown = [n for n in names if n not in ALL_CASES]
    if unknown:
        print("unknown test case(s): " + ", ".join(unknown), file=sys.stderr)
        sys.exit(2)

    channel = make_channel(flags)
    cases = Cases(channel)
    passed = failed = 0
    for name in names:
        cases.notes = []
        try:
            getattr(cases, name)()
            outcome = "PASS %s" % name
            passed += 1
        except Skip as skip:
            outcome = "SKIP %s: %s" % (name, skip)
        except Failure as failure:
            outcome = "FAIL %s: %s" % (name, failure)
            failed += 1
        except grpc.RpcError as err:
            outcome = "FAIL %s: unexpected status %s: %r" % (name, err.code().name, err.details())
            failed += 1
        except Exception as err:  # a bug in a case is a failure, not a crash of the whole run
            outcome = "FAIL %s: %s: %s" % (name, type(err).__name__, err)
            failed += 1
        for text in cases.notes:
            print("NOTE %s: %s" % (name, text), flush=True)
        print(outcome.replace("\n", "\\n"), flush=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    channel.close()
    # Request-iterator threads of cancelled calls may still be parked; don't wait for them.
    sys.stdout.flush()
    os._exit(1 if failed else 0)


if __name__ == "__main__":
    threading.current_thread().name = "interop-client"
    main()
