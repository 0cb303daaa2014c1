#!/usr/bin/env bash
# Checks what deploy/ ships, without a cluster or a Docker engine (neither runs on the
# project's machines): the Helm chart rendered in four configurations and validated
# against Kubernetes' published API schemas; the compose file against the Compose
# specification's schema; the alert rules with promtool, including their unit tests; the
# Grafana dashboard's queries parsed by promtool and checked against the metrics the code
# exposes; and deploy/garage-init.py run twice against a fresh Garage of its own.
#
# Tools, installed here when missing (Debian, PyPI): Go 1.19 with Sprig and sigs.k8s.io/yaml
# to build deploy/helm/render (Helm's engine; Helm itself is published only where these
# machines cannot reach), promtool from Debian's prometheus package, check-jsonschema
# (its vendored compose-spec schema) and kubernetes-validate (Kubernetes' schemas).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$HOME/.cache/refrain-tools"
mkdir -p "$TOOLS"
log() { printf '\033[1;32m==>\033[0m %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
for pkg in golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev curl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! "$TOOLS/promtool" --version 2>/dev/null | grep -q 2.42.0; then
  log "promtool (from Debian's prometheus 2.42.0 package)"
  tmp=$(mktemp -d) && chmod 755 "$tmp"
  (cd "$tmp" && apt-get download prometheus >/dev/null && dpkg -x prometheus_*.deb x)
  cp "$tmp/x/usr/bin/promtool" "$TOOLS/promtool"
  rm -rf "$tmp"
fi
pip_need=()
python3 -c "import check_jsonschema" 2>/dev/null || pip_need+=(check-jsonschema==0.39.0)
python3 -c "import kubernetes_validate" 2>/dev/null || pip_need+=(kubernetes-validate==1.37.0)
python3 -c "import yaml" 2>/dev/null || pip_need+=(PyYAML==6.0.2)
if [ ${#pip_need[@]} -gt 0 ]; then
  log "pip install ${pip_need[*]}"
  python3 -m pip install --quiet --disable-pip-version-check "${pip_need[@]}"
fi
# The renderer, built in a GOPATH of Debian's Go sources (their module paths end in /v3,
# which GOPATH mode finds through these links).
GP="$TOOLS/gopath"
mkdir -p "$GP/src/refrain-render" "$GP/src/github.com/Masterminds/sprig" "$GP/src/github.com/Masterminds/semver"
ln -sfn /usr/share/gocode/src/github.com/Masterminds/sprig "$GP/src/github.com/Masterminds/sprig/v3"
ln -sfn /usr/share/gocode/src/github.com/Masterminds/semver "$GP/src/github.com/Masterminds/semver/v3"
cp deploy/helm/render/main.go "$GP/src/refrain-render/main.go"
(cd "$GP/src/refrain-render" && GO111MODULE=off GOPATH="$GP:/usr/share/gocode" \
  GOCACHE="$HOME/.cache/go-build" go build -o "$TOOLS/helm-render" .)

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
CHART=deploy/helm/refrain
REQUIRED=(--set "secrets.values.REFRAIN_DATABASE_URL=postgres://refrain:super-secret-password@db/refrain"
  --set "secrets.values.REFRAIN_SECRET_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')")

log "Helm chart: render and validate against Kubernetes 1.29 and 1.37 schemas"
"$TOOLS/helm-render" --name refrain "${REQUIRED[@]}" "$CHART" > "$OUT/defaults.yaml"
"$TOOLS/helm-render" --name music "${REQUIRED[@]}" --set ingress.enabled=true \
  --set ingress.className=nginx --set ingress.host=music.example.org \
  --set secrets.values.REFRAIN_REDIS_URL=redis://redis:6379 \
  --set config.sso.oidcIssuer=https://id.example.org --set config.sso.oidcClientId=refrain \
  --set secrets.values.REFRAIN_OIDC_CLIENT_SECRET=super-secret-oidc "$CHART" > "$OUT/ingress-tls.yaml"
"$TOOLS/helm-render" --name refrain --set secrets.existingSecret=refrain-prod \
  --set server.autoscaling.enabled=false --set server.replicas=3 "$CHART" > "$OUT/existing-secret.yaml"
"$TOOLS/helm-render" --name refrain "${REQUIRED[@]}" --set secrets.values.REFRAIN_SMTP_URL=smtp://mail \
  --set secrets.values.REFRAIN_S3_ACCESS_KEY_ID=GK1 --set secrets.values.REFRAIN_S3_SECRET_ACCESS_KEY=s \
  --set config.s3Endpoint=http://garage:3900 --set config.extra.REFRAIN_RATE_LIMIT=600 "$CHART" > "$OUT/everything.yaml"
for case in defaults ingress-tls existing-secret everything; do
  for k in 1.29.0 1.37.0; do
    kubernetes-validate --strict --quiet -k "$k" "$OUT/$case.yaml"
  done
  python3 deploy/check.py manifests "$case" "$OUT/$case.yaml"
done
# A chart that would deploy without a database must not render.
if "$TOOLS/helm-render" "$CHART" > /dev/null 2> "$OUT/err"; then
  echo "the chart rendered without REFRAIN_DATABASE_URL" >&2; exit 1
fi
grep -q "REFRAIN_DATABASE_URL is required" "$OUT/err"
# And the validator is not one that passes anything: a misspelt field fails.
sed 's/containerPort:/containerPorts:/' "$OUT/defaults.yaml" > "$OUT/broken.yaml"
if kubernetes-validate --strict --quiet -k 1.37.0 "$OUT/broken.yaml" >/dev/null 2>&1; then
  echo "kubernetes-validate accepted a broken manifest" >&2; exit 1
fi

log "docker-compose.yml against the Compose specification"
check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
python3 deploy/check.py compose

log "Prometheus alert rules: syntax and unit tests"
"$TOOLS/promtool" check rules deploy/prometheus/alerts.yml
(cd deploy/prometheus && "$TOOLS/promtool" test rules alerts.test.yml)

log "Grafana dashboard: queries parse, metrics exist"
python3 -c "import json,sys; json.load(open('deploy/grafana/refrain.json'))"
python3 deploy/check.py queries "$OUT/dashboard-rules.yml"
"$TOOLS/promtool" check rules "$OUT/dashboard-rules.yml"
python3 deploy/check.py metrics

if command -v garage >/dev/null; then
  log "deploy/garage-init.py against a fresh Garage, as compose runs it (twice: the second run changes nothing)"
  G="$OUT/garage"
  mkdir -p "$G/meta" "$G/data" "$G/secrets"
  hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
  # The secrets as deploy/make-secrets.sh makes them, read from files as in compose.
  printf '%s' "$(hex 32)" > "$G/secrets/garage_admin_token"
  printf 'GK%s' "$(hex 12)" > "$G/secrets/s3_key_id"
  printf '%s' "$(hex 32)" > "$G/secrets/s3_secret"
  cat > "$G/garage.toml" <<TOML
metadata_dir = "$G/meta"
data_dir = "$G/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:3911"
rpc_public_addr = "127.0.0.1:3911"
rpc_secret = "$(hex 32)"
[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:3910"
root_domain = ".s3.garage.localhost"
[admin]
api_bind_addr = "127.0.0.1:3913"
admin_token_file = "$G/secrets/garage_admin_token"
TOML
  chmod 600 "$G/secrets/"*
  garage -c "$G/garage.toml" server > "$G/log" 2>&1 &
  garage_pid=$!
  trap 'kill $garage_pid 2>/dev/null || true; rm -rf "$OUT"' EXIT
  export GARAGE_ADMIN_URL=http://127.0.0.1:3913 GARAGE_ADMIN_TOKEN_FILE="$G/secrets/garage_admin_token"
  export S3_KEY_ID_FILE="$G/secrets/s3_key_id" S3_SECRET_FILE="$G/secrets/s3_secret" S3_BUCKET=media
  python3 deploy/garage-init.py | tee "$OUT/init1"
  for step in "given a role" "imported" "created" "may read"; do
    grep -q "$step" "$OUT/init1" || { echo "the first garage-init run did not say '$step'" >&2; exit 1; }
  done
  python3 deploy/garage-init.py | tee "$OUT/init2"
  if grep -q -E "given a role|imported|created|may read" "$OUT/init2"; then
    echo "the second garage-init run changed something" >&2; exit 1
  fi
  # The imported key writes, reads and deletes in the bucket over S3.
  KEY="$(cat "$S3_KEY_ID_FILE"):$(cat "$S3_SECRET_FILE")"
  echo "stored through the compose key" > "$OUT/object"
  S3="http://127.0.0.1:3910/media/check.txt"
  s3() { curl -fsS --aws-sigv4 "aws:amz:garage:s3" --user "$KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }
  for _ in $(seq 30); do s3 -T "$OUT/object" "$S3" 2>/dev/null && break; sleep 1; done
  s3 "$S3" | grep -q "compose key"
  s3 -X DELETE "$S3"
  # A wrong admin token is refused with a clear message.
  if GARAGE_ADMIN_TOKEN=wrong python3 deploy/garage-init.py > /dev/null 2> "$OUT/err"; then
    echo "garage-init accepted a wrong admin token" >&2; exit 1
  fi
  grep -q "admin token was refused" "$OUT/err"
  kill $garage_pid
else
  echo "(no garage binary: scripts/setup.sh installs it; the garage-init check was skipped)"
fi
log "deploy checks passed"
