#!/usr/bin/env python3
"""The article's Users server (server.py), for testing tsgrpc against Python grpcio.

Run with the stubs that `protoc --python_out --grpc_python_out` makes of proto/users.proto and
proto/users_types.proto on PYTHONPATH:

    PYTHONPATH=GEN /usr/bin/python3 users_server.py [--port 0] [--host 127.0.0.1] [--stream-delay 0]
                                                   [--fail-get-users CODE]

Prints "PORT n" as its first line once it serves, then one log line per call (CreateUser logs its
metadata as "CreateUser metadata: {json}"). Stops when its stdin closes, or on SIGTERM/SIGINT.
"""
import argparse
import json
import signal
import sys
import threading
import time
from concurrent import futures

import grpc

import users_pb2_grpc as users_service
import users_types_pb2 as users_messages


def log(line):
    print(line, flush=True)


class UsersService(users_service.UsersServicer):
    """CreateUser: the requested username with a new, increasing id. GetUsers: one result per user."""

    def __init__(self, stream_delay=0.0, fail_get_users=None):
        self._lock = threading.Lock()
        self._next_id = 1
        self._stream_delay = stream_delay
        self._fail_get_users = fail_get_users

    def CreateUser(self, request, context):
        metadata = {}
        for key, value in context.invocation_metadata():
            if isinstance(value, bytes):
                import base64
                value = base64.b64encode(value).decode("ascii")
            metadata.setdefault(key, []).append(value)
        log("CreateUser metadata: " + json.dumps(metadata, separators=(",", ":")))
        remaining = context.time_remaining()
        deadline = "none" if remaining is None or remaining > 1e6 else "%.2f s left" % remaining
        log("CreateUser from %s, deadline: %s" % (context.peer(), deadline))
        if not request.username:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "username must not be empty")
        with self._lock:
            user_id = self._next_id
            self._next_id += 1
        user = users_messages.User(username=request.username, user_id=user_id)
        return users_messages.CreateUserResult(user=user)

    def GetUsers(self, request, context):
        log("GetUsers for %d user(s) from %s" % (len(request.user), context.peer()))
        if self._fail_get_users:
            context.abort(getattr(grpc.StatusCode, self._fail_get_users), "GetUsers fails on purpose")
        for user in request.user:
            if self._stream_delay > 0:
                time.sleep(self._stream_delay)
            if not context.is_active():
                return
            yield users_messages.GetUsersResult(
                user=users_messages.User(username=user.username, user_id=user.user_id)
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=50051)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--stream-delay", type=float, default=0.0, help="seconds before each GetUsers result")
    parser.add_argument("--fail-get-users", default=None, help="a status code name GetUsers fails with")
    args = parser.parse_args()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
    users_service.add_UsersServicer_to_server(UsersService(args.stream_delay, args.fail_get_users), server)
    port = server.add_insecure_port("%s:%d" % (args.host, args.port))
    if port == 0:
        sys.exit("could not listen on %s:%d" % (args.host, args.port))
    server.start()
    log("PORT %d" % port)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def watch_stdin():
        sys.stdin.read()  # returns at EOF: whoever started us has gone or wants us to stop
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    while not stop.wait(0.2):
        pass
    server.stop(grace=1).wait()
    log("stopped")


if __name__ == "__main__":
    main()
