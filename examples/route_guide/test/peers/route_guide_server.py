#!/usr/bin/env python3
"""RouteGuide server on Python grpcio: the peer the tsgrpc example's interop tests call.

usage: route_guide_server.py --db FILE [--port N] [--host ADDRESS]

Needs the stubs made by `protoc --python_out --grpc_python_out` from route_guide.proto on PYTHONPATH
(the tests generate them into a temporary folder). Prints "PORT n" once it serves, then serves until
its standard input is closed, so it cannot outlive the test that started it.
"""
import argparse
import json
import math
import sys
import time
from concurrent import futures

import grpc

import route_guide_pb2
import route_guide_pb2_grpc

EARTH_RADIUS_M = 6371000
COORD_FACTOR = 1e7
INT32_MAX = 2**31 - 1


def load_db(path):
    """The features of a tutorial-format JSON file, in file order."""
    with open(path, encoding="utf-8") as f:
        entries = json.load(f)
    return [
        route_guide_pb2.Feature(
            name=entry.get("name", ""),
            location=route_guide_pb2.Point(
                latitude=entry["location"]["latitude"],
                longitude=entry["location"]["longitude"],
            ),
        )
        for entry in entries
    ]


def key_of(point):
    return (point.latitude, point.longitude)


def to_radians(e7):
    return e7 / COORD_FACTOR * math.pi / 180


def distance_metres(a, b):
    """Great-circle distance by the haversine formula, in metres (a float)."""
    lat1 = to_radians(a.latitude)
    lat2 = to_radians(b.latitude)
    d_lat = lat2 - lat1
    d_lon = to_radians(b.longitude) - to_radians(a.longitude)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(d_lon / 2) ** 2
    c = 2 * math.atan2(math.sqrt(h), math.sqrt(1 - h))
    return EARTH_RADIUS_M * c


class RouteGuideServicer(route_guide_pb2_grpc.RouteGuideServicer):
    def __init__(self, db):
        self.db = db
        # Unnamed entries mean "nothing known here": only named ones are found or listed.
        self.named = {}
        for feature in db:
            if feature.name and key_of(feature.location) not in self.named:
                self.named[key_of(feature.location)] = feature

    def GetFeature(self, request, context):
        found = self.named.get(key_of(request))
        if found is not None:
            return found
        return route_guide_pb2.Feature(name="", location=request)

    def ListFeatures(self, request, context):
        south = min(request.lo.latitude, request.hi.latitude)
        north = max(request.lo.latitude, request.hi.latitude)
        west = min(request.lo.longitude, request.hi.longitude)
        east = max(request.lo.longitude, request.hi.longitude)
        for feature in self.db:
            loc = feature.location
            if feature.name and south <= loc.latitude <= north and west <= loc.longitude <= east:
                yield feature

    def RecordRoute(self, request_iterator, context):
        point_count = 0
        feature_count = 0
        distance = 0.0
        previous = None
        first_at = last_at = 0.0
        for point in request_iterator:
            now = time.monotonic()
            if point_count == 0:
                first_at = now
            last_at = now
            point_count += 1
            if key_of(point) in self.named:
                feature_count += 1
            if previous is not None:
                distance += distance_metres(previous, point)
            previous = point
        return route_guide_pb2.RouteSummary(
            point_count=min(point_count, INT32_MAX),
            feature_count=min(feature_count, INT32_MAX),
            distance=min(int(distance), INT32_MAX),
            elapsed_time=min(int(last_at - first_at), INT32_MAX),
        )

    def RouteChat(self, request_iterator, context):
        by_location = {}
        for note in request_iterator:
            earlier = by_location.setdefault(key_of(note.location), [])
            for previous in list(earlier):
                yield previous
            earlier.append(note)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="feature database (tutorial JSON format)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0 picks one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    args = parser.parse_args()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    route_guide_pb2_grpc.add_RouteGuideServicer_to_server(RouteGuideServicer(load_db(args.db)), server)
    port = server.add_insecure_port(f"{args.host}:{args.port}")
    if port == 0:
        print(f"cannot listen on {args.host}:{args.port}", file=sys.stderr)
        sys.exit(1)
    server.start()
    print(f"PORT {port}", flush=True)
    sys.stdin.read()  # returns when the test closes our stdin (or exits)
    server.stop(grace=1).wait()


if __name__ == "__main__":
    main()
