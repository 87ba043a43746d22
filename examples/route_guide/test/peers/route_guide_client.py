#!/usr/bin/env python3
"""RouteGuide client on Python grpcio: the peer that calls the tsgrpc example server in interop tests.

usage: route_guide_client.py --target HOST:PORT --db FILE [--pace-ms N]

Needs the stubs made by `protoc --python_out --grpc_python_out` from route_guide.proto on PYTHONPATH.
Runs a fixed set of calls of all four kinds, derived from the database, and prints one JSON object per
call: {"call": ..., "label": ..., "request": ..., "response": ...}, then {"done": true}. A failed call
prints {"error": ..., "code": ...} and exits 1. Exits at once (status 3) if its standard input closes.
"""
import argparse
import json
import os
import sys
import threading
import time

import grpc

import route_guide_pb2
import route_guide_pb2_grpc


def watch_stdin():
    sys.stdin.read()
    print("stdin closed: exiting", file=sys.stderr, flush=True)
    os._exit(3)


def point(lat, lon):
    return route_guide_pb2.Point(latitude=lat, longitude=lon)


def point_json(p):
    return {"latitude": p.latitude, "longitude": p.longitude}


def feature_json(f):
    return {"name": f.name, "location": point_json(f.location)}


def note_json(n):
    return {"message": n.message, "location": point_json(n.location)}


def rect_json(r):
    return {"lo": point_json(r.lo), "hi": point_json(r.hi)}


def summary_json(s):
    return {
        "point_count": s.point_count,
        "feature_count": s.feature_count,
        "distance": s.distance,
        "elapsed_time": s.elapsed_time,
    }


def emit(call, label, request, response):
    print(json.dumps({"call": call, "label": label, "request": request, "response": response}), flush=True)


def paced(items, pace_s, sent):
    for i, item in enumerate(items):
        if i > 0 and pace_s > 0:
            time.sleep(pace_s)
        sent.append(item)
        yield item


def run(stub, db, pace_ms, timeout):
    locations = [point(e["location"]["latitude"], e["location"]["longitude"]) for e in db]

    # Unary: every database location, then two points that are in no database.
    for label, p in [(f"db[{i}]", loc) for i, loc in enumerate(locations)] + [
        ("origin", point(0, 0)),
        ("nowhere", point(-123456789, 987654321)),
    ]:
        emit("GetFeature", label, point_json(p), feature_json(stub.GetFeature(p, timeout=timeout)))

    # Server streaming: the whole database, a sub-rectangle given by corners swapped in latitude, in
    # longitude and in both, one point exactly
    # (inclusive bounds), an empty area.
    lats = [p.latitude for p in locations]
    lons = [p.longitude for p in locations]
    a, b = locations[0], locations[min(5, len(locations) - 1)]
    rects = [
        ("all", route_guide_pb2.Rectangle(lo=point(min(lats), min(lons)), hi=point(max(lats), max(lons)))),
        ("swapped-latitude", route_guide_pb2.Rectangle(
            lo=point(max(a.latitude, b.latitude), min(a.longitude, b.longitude)),
            hi=point(min(a.latitude, b.latitude), max(a.longitude, b.longitude)),
        )),
        ("swapped-longitude", route_guide_pb2.Rectangle(
            lo=point(min(a.latitude, b.latitude), max(a.longitude, b.longitude)),
            hi=point(max(a.latitude, b.latitude), min(a.longitude, b.longitude)),
        )),
        ("swapped-both", route_guide_pb2.Rectangle(
            lo=point(max(a.latitude, b.latitude), max(a.longitude, b.longitude)),
            hi=point(min(a.latitude, b.latitude), min(a.longitude, b.longitude)),
        )),
        ("single-point", route_guide_pb2.Rectangle(lo=locations[0], hi=locations[0])),
        ("empty", route_guide_pb2.Rectangle(lo=point(0, 0), hi=point(10, 10))),
    ]
    for label, rect in rects:
        features = [feature_json(f) for f in stub.ListFeatures(rect, timeout=timeout)]
        emit("ListFeatures", label, rect_json(rect), features)

    # Client streaming: the first ten locations and an unknown point; nothing; three paced points.
    routes = [
        ("route", locations[:10] + [point(0, 0)], 0),
        ("empty", [], 0),
        ("timed", locations[:3], pace_ms / 1000),
    ]
    for label, route, pace in routes:
        sent = []
        summary = stub.RecordRoute(paced(route, pace, sent), timeout=timeout)
        emit("RecordRoute", label, [point_json(p) for p in sent], summary_json(summary))

    # Bidi: notes at a few places, some at the same one.
    here, there, elsewhere = locations[0], locations[1], point(0, 0)
    notes = [
        route_guide_pb2.RouteNote(location=here, message="first"),
        route_guide_pb2.RouteNote(location=there, message="second"),
        route_guide_pb2.RouteNote(location=here, message="third"),
        route_guide_pb2.RouteNote(location=elsewhere, message="fourth"),
        route_guide_pb2.RouteNote(location=here, message="fifth"),
        route_guide_pb2.RouteNote(location=there, message="sixth"),
        route_guide_pb2.RouteNote(message="seventh, with no location"),
    ]
    received = [note_json(n) for n in stub.RouteChat(iter(notes), timeout=timeout)]
    emit("RouteChat", "chat", [note_json(n) for n in notes], received)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="server address, host:port")
    parser.add_argument("--db", required=True, help="the server's feature database (tutorial JSON format)")
    parser.add_argument("--pace-ms", type=int, default=750, help="pause between the timed route's points")
    parser.add_argument("--timeout", type=float, default=20, help="deadline of each call, in seconds")
    args = parser.parse_args()
    threading.Thread(target=watch_stdin, daemon=True).start()

    with open(args.db, encoding="utf-8") as f:
        db = json.load(f)
    with grpc.insecure_channel(args.target) as channel:
        stub = route_guide_pb2_grpc.RouteGuideStub(channel)
        try:
            run(stub, db, args.pace_ms, args.timeout)
        except grpc.RpcError as err:
            print(json.dumps({"error": err.details(), "code": err.code().name}), flush=True)
            sys.exit(1)
    print(json.dumps({"done": True}), flush=True)


if __name__ == "__main__":
    main()
