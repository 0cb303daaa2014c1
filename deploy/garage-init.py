#!/usr/bin/env python3
"""Prepares a one-node Garage for Refrain through Garage's admin API (v2), so that
`docker compose up` needs no hand-typed Garage commands: gives the node a role in the
layout if it has none, imports the S3 key Refrain uses (from the compose secrets), creates
the bucket and lets the key read, write and own it. Safe to run again: each step that is
already done is left as it is. Standard library only (the compose file runs it in a stock
python image); scripts/deploy-check.sh runs it against a real Garage in CI.

Settings (environment): GARAGE_ADMIN_URL (http://garage:3903), GARAGE_ADMIN_TOKEN or
GARAGE_ADMIN_TOKEN_FILE, S3_KEY_ID(_FILE), S3_SECRET(_FILE), S3_BUCKET (media),
GARAGE_ZONE (dc1), GARAGE_CAPACITY (bytes for the node's role; 10 GB), GARAGE_WAIT_SECS (60).
"""
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def setting(name, default=None):
    value = os.environ.get(name)
    if value is None and os.environ.get(name + "_FILE"):
        with open(os.environ[name + "_FILE"], encoding="utf-8") as f:
            value = f.read().strip()
    if value is None:
        value = default
    if value is None:
        sys.exit(f"garage-init: {name} (or {name}_FILE) is required")
    return value


class Admin:
    def __init__(self, url, token):
        self.url = url.rstrip("/")
        self.token = token

    def call(self, method, endpoint, body=None, query=None):
        """Returns (status, parsed JSON or None)."""
        url = f"{self.url}/v2/{endpoint}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=15) as res:
                raw = res.read()
                return res.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, {"message": raw.decode(errors="replace")}

    def ok(self, method, endpoint, body=None, query=None):
        status, answer = self.call(method, endpoint, body, query)
        if status != 200:
            sys.exit(f"garage-init: {endpoint} answered {status}: {answer}")
        return answer


def main():
    admin = Admin(setting("GARAGE_ADMIN_URL", "http://garage:3903"), setting("GARAGE_ADMIN_TOKEN"))
    key_id = setting("S3_KEY_ID")
    secret = setting("S3_SECRET")
    bucket = setting("S3_BUCKET", "media")
    zone = setting("GARAGE_ZONE", "dc1")
    capacity = int(setting("GARAGE_CAPACITY", str(10 * 1000**3)))

    # Garage starts alongside: wait for its admin API.
    deadline = time.time() + int(setting("GARAGE_WAIT_SECS", "60"))
    while True:
        try:
            status, cluster = admin.call("GET", "GetClusterStatus")
            if status == 200:
                break
            if status in (401, 403):
                sys.exit("garage-init: the admin token was refused")
        except OSError:
            pass
        if time.time() > deadline:
            sys.exit(f"garage-init: no answer from {admin.url}")
        time.sleep(1)

    # 1. A role for the node (a fresh Garage stores nothing until it has one).
    node = next((n for n in cluster["nodes"] if n.get("isUp", True)), cluster["nodes"][0])
    if node.get("role"):
        print(f"garage-init: node {node['id'][:16]} already has a role")
    else:
        layout = admin.ok("GET", "GetClusterLayout")
        admin.ok(
            "POST",
            "UpdateClusterLayout",
            {"roles": [{"id": node["id"], "zone": zone, "capacity": capacity, "tags": []}]},
        )
        admin.ok("POST", "ApplyClusterLayout", {"version": layout["version"] + 1})
        print(f"garage-init: node {node['id'][:16]} given a role in zone {zone}")

    # 2. The key Refrain signs its requests with.
    status, info = admin.call("GET", "GetKeyInfo", query={"id": key_id, "showSecretKey": "true"})
    if status == 200:
        if info.get("secretAccessKey") not in (None, secret):
            sys.exit(f"garage-init: key {key_id} exists with another secret; remove it or use its secret")
        print(f"garage-init: key {key_id} already there")
    else:
        admin.ok(
            "POST",
            "ImportKey",
            {"accessKeyId": key_id, "secretAccessKey": secret, "name": f"refrain-{bucket}"},
        )
        print(f"garage-init: key {key_id} imported")

    # 3. The bucket, and the key's rights on it.
    status, info = admin.call("GET", "GetBucketInfo", query={"globalAlias": bucket})
    if status != 200:
        info = admin.ok("POST", "CreateBucket", {"globalAlias": bucket})
        print(f"garage-init: bucket {bucket} created")
    else:
        print(f"garage-init: bucket {bucket} already there")
    granted = next((k for k in info.get("keys", []) if k.get("accessKeyId") == key_id), None)
    perms = (granted or {}).get("permissions", {})
    if all(perms.get(p) for p in ("read", "write", "owner")):
        print(f"garage-init: key {key_id} already reads, writes and owns {bucket}")
    else:
        admin.ok(
            "POST",
            "AllowBucketKey",
            {
                "bucketId": info["id"],
                "accessKeyId": key_id,
                "permissions": {"read": True, "write": True, "owner": True},
            },
        )
        print(f"garage-init: key {key_id} may read, write and own {bucket}")


if __name__ == "__main__":
    main()
