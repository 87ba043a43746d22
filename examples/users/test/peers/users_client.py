#!/usr/bin/env python3
"""The article's Users client (client.py), for testing tsgrpc against Python grpcio.

    PYTHONPATH=GEN /usr/bin/python3 users_client.py --target HOST:PORT [--username tom]
                                                   [--users alexa,christie] [--ip 127.0.0.1]

Waits for the channel to be ready (like the article's channel_ready_future), calls CreateUser and then
GetUsers, each with the metadata ("ip", ...) and a 30 second timeout, and prints one JSON object per line:
    {"call": "CreateUser", "result": {...}}     the CreateUserResult in proto3 JSON
    {"call": "GetUsers", "result": {...}}       one line per GetUsersResult, in the order received
    {"call": "...", "error": {"code": "UNAVAILABLE", "details": "..."}}   then exit status 1
"""
import argparse
import json
import sys

import grpc
from google.protobuf.json_format import MessageToDict

import users_pb2_grpc as users_service
import users_types_pb2 as users_messages

TIMEOUT_SECONDS = 30


def emit(obj):
    print(json.dumps(obj, separators=(",", ":")), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="127.0.0.1:50051")
    parser.add_argument("--username", default="tom")
    parser.add_argument("--users", default="alexa,christie")
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--connect-timeout", type=float, default=10.0)
    args = parser.parse_args()

    with grpc.insecure_channel(args.target) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=args.connect_timeout)
        except grpc.FutureTimeoutError:
            emit({"call": "connect", "error": {"code": "UNAVAILABLE", "details": "Error connecting to server"}})
            return 1
        stub = users_service.UsersStub(channel)
        metadata = [("ip", args.ip)]

        call = "CreateUser"
        try:
            response = stub.CreateUser(
                users_messages.CreateUserRequest(username=args.username),
                metadata=metadata,
                timeout=TIMEOUT_SECONDS,
            )
            emit({"call": call, "result": MessageToDict(response)})

            call = "GetUsers"
            names = [n for n in args.users.split(",") if n]
            request = users_messages.GetUsersRequest(
                user=[users_messages.User(username=name, user_id=1) for name in names]
            )
            for result in stub.GetUsers(request, metadata=metadata, timeout=TIMEOUT_SECONDS):
                emit({"call": call, "result": MessageToDict(result)})
        except grpc.RpcError as err:
            emit({"call": call, "error": {"code": err.code().name, "details": err.details()}})
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
