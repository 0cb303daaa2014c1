#!/usr/bin/env sh
# Makes the secrets docker-compose.yml reads, once: the server key, the S3 key Refrain
# uses (Garage imports it at the first start, see deploy/garage-init.py), Garage's RPC
# secret and its admin token. Files already there are kept (the server key seals stored
# secrets: keep it with your backups).
set -eu
cd "$(dirname "$0")/secrets"
# The containers run as their own users and compose mounts these files as they are, so the
# files are readable by all and the folder is closed to other users of this machine.
chmod 700 .
make() { [ -s "$1" ] || { printf '%s' "$2" > "$1"; chmod 644 "$1"; echo "made deploy/secrets/$1"; }; }
hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
make secret_key "$(hex 32)"
make s3_key_id "GK$(hex 12)"
make s3_secret "$(hex 32)"
make garage_rpc_secret "$(hex 32)"
make garage_admin_token "$(hex 32)"
