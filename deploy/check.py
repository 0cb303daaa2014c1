#!/usr/bin/env python3
"""Checks on what deploy/ ships, beyond the schemas (scripts/deploy-check.sh runs them):

  check.py manifests CASE FILE   the rendered chart holds what CASE promises
  check.py queries RULES_OUT     every dashboard query as a rule file for `promtool check rules`
  check.py metrics               every metric the alerts and the dashboard use is one the code exposes
  check.py compose               every secret the compose file names is made by make-secrets.sh
"""
import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy/grafana/refrain.json"
ALERTS = ROOT / "deploy/prometheus/alerts.yml"


def fail(msg):
    sys.exit(f"check.py: {msg}")


def manifests(case, path):
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    kinds = sorted(by_kind)

    def one(kind, component=None):
        found = [
            d
            for d in by_kind.get(kind, [])
            if component is None
            or d["metadata"]["labels"].get("app.kubernetes.io/component") == component
        ]
        if len(found) != 1:
            fail(f"{case}: want one {kind} {component or ''}, found {len(found)} (kinds: {kinds})")
        return found[0]

    server = one("Deployment", "server")
    worker = one("StatefulSet", "worker")
    migrate = one("Job", "migrate")
    config = one("ConfigMap")
    pods = {"server": server, "worker": worker, "migrate": migrate}

    # Probes: the server and the worker are ready on /readyz and alive on /healthz.
    for name in ("server", "worker"):
        c = pods[name]["spec"]["template"]["spec"]["containers"][0]
        if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
            fail(f"{case}: the {name} has no /readyz readiness probe")
        if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
            fail(f"{case}: the {name} has no /healthz liveness probe")

    # Secrets reach every container from the one Secret, never through the ConfigMap.
    secret_name = "refrain-prod" if case == "existing-secret" else None
    if case == "existing-secret":
        if "Secret" in by_kind:
            fail(f"{case}: made a Secret though one exists")
    else:
        secret = one("Secret")
        secret_name = secret["metadata"]["name"]
        if "super-secret-password" not in secret["stringData"]["REFRAIN_DATABASE_URL"]:
            fail(f"{case}: the database URL is not in the Secret")
    for name, pod in pods.items():
        c = pod["spec"]["template"]["spec"]["containers"][0]
        refs = {
            e["name"]: e["valueFrom"]["secretKeyRef"]["name"]
            for e in c.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        for need in ("REFRAIN_DATABASE_URL", "REFRAIN_SECRET_KEY"):
            if refs.get(need) != secret_name:
                fail(f"{case}: the {name} does not take {need} from {secret_name}: {refs}")
        if c["envFrom"][0]["configMapRef"]["name"] != config["metadata"]["name"]:
            fail(f"{case}: the {name} does not read the ConfigMap")
        sc = pod["spec"]["template"]["spec"]["securityContext"]
        if not sc.get("runAsNonRoot"):
            fail(f"{case}: the {name} may run as root")
    if any("super-secret" in str(v) for v in config["data"].values()):
        fail(f"{case}: a secret leaked into the ConfigMap")
    worker_env = {e["name"]: e for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]}
    server_env = {e["name"]: e for e in server["spec"]["template"]["spec"]["containers"][0]["env"]}
    if "fieldRef" not in worker_env.get("REFRAIN_KAFKA_INSTANCE_ID", {}).get("valueFrom", {}):
        fail(f"{case}: workers have no stable Kafka instance id")
    if config["data"].get("REFRAIN_EMBEDDED_WORKER") != "false":
        fail(f"{case}: servers would run an embedded worker beside the workers")

    # Autoscaling: an HPA on CPU drives the server Deployment, which then sets no replicas.
    hpas = by_kind.get("HorizontalPodAutoscaler", [])
    if case == "existing-secret":
        if hpas or server["spec"].get("replicas") != 3:
            fail(f"{case}: autoscaling off should mean no HPA and 3 replicas")
    else:
        hpa = one("HorizontalPodAutoscaler")
        if hpa["spec"]["scaleTargetRef"]["name"] != server["metadata"]["name"]:
            fail(f"{case}: the HPA scales {hpa['spec']['scaleTargetRef']['name']}")
        if hpa["spec"]["metrics"][0]["resource"]["name"] != "cpu":
            fail(f"{case}: the HPA does not scale on CPU")
        if "replicas" in server["spec"]:
            fail(f"{case}: the Deployment fixes replicas under an HPA")
        cpu = server["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"].get("cpu")
        if not cpu:
            fail(f"{case}: no CPU request, so the HPA has nothing to measure against")

    # The Ingress, with TLS, only when asked.
    if case == "ingress-tls":
        ing = one("Ingress")
        tls = ing["spec"].get("tls") or fail(f"{case}: the Ingress has no TLS")
        if tls[0]["secretName"] != "refrain-tls" or tls[0]["hosts"] != ["music.example.org"]:
            fail(f"{case}: TLS is {tls}")
        backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
        services = [s["metadata"]["name"] for s in by_kind["Service"]]
        if backend not in services:
            fail(f"{case}: the Ingress sends to {backend}, not one of {services}")
    elif "Ingress" in by_kind:
        fail(f"{case}: an Ingress nobody asked for")
    # Single sign-on: the issuer in the ConfigMap, its client secret only from the Secret.
    if case == "ingress-tls":
        if config["data"].get("REFRAIN_OIDC_ISSUER") != "https://id.example.org":
            fail(f"{case}: the OpenID issuer is not configured: {config['data']}")
        ref = server_env.get("REFRAIN_OIDC_CLIENT_SECRET", {}).get("valueFrom", {}).get("secretKeyRef")
        if not ref or ref["key"] != "REFRAIN_OIDC_CLIENT_SECRET":
            fail(f"{case}: the server does not take the OpenID client secret from the Secret")
    elif "REFRAIN_OIDC_ISSUER" in config["data"]:
        fail(f"{case}: single sign-on configured though nobody asked")
    print(f"check.py: {case}: {len(docs)} manifests hold what they should")


def dashboard_queries():
    d = json.load(open(DASHBOARD))
    for p in d["panels"]:
        for t in p.get("targets", []):
            yield p["title"], t["expr"]


def queries(out):
    """Grafana's variables replaced by what they stand for, each query a recording rule."""
    rules = []
    for i, (title, expr) in enumerate(dashboard_queries()):
        expr = expr.replace("$__rate_interval", "5m").replace("$job", "refrain.*")
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(out, "w"))
    print(f"check.py: {len(rules)} dashboard queries written to {out}")


def exposed_metrics():
    names = {"up"}
    for path in list(ROOT.glob("*/src/**/*.rs")):
        for m in re.finditer(r"# TYPE ([a-z_:]+) (counter|gauge|histogram)", path.read_text()):
            names.add(m.group(1))
            if m.group(2) == "histogram":
                names.update(m.group(1) + s for s in ("_bucket", "_sum", "_count"))
    return names


def metrics():
    exposed = exposed_metrics()
    used = set()
    exprs = [e for _, e in dashboard_queries()]
    for g in yaml.safe_load(open(ALERTS))["groups"]:
        exprs += [r["expr"] for r in g["rules"]]
    for e in exprs:
        used.update(re.findall(r"\b(refrain_[a-z_]+|http_[a-z_]+|up)\b(?=\s*[{\[)/<>=!*+-]|\s*$)", e))
    missing = sorted(used - exposed)
    if missing:
        fail(f"used by the alerts or the dashboard but exposed by no code: {missing}")
    print(f"check.py: the {len(used)} metrics the alerts and dashboard use are all exposed")


def compose():
    doc = yaml.safe_load(open(ROOT / "docker-compose.yml"))
    made = set(re.findall(r"^make (\w+)", (ROOT / "deploy/make-secrets.sh").read_text(), re.M))
    declared = doc.get("secrets", {})
    for name, spec in declared.items():
        if spec["file"] != f"./deploy/secrets/{name}" or name not in made:
            fail(f"compose secret {name} ({spec['file']}) is not made by deploy/make-secrets.sh")
    for svc, spec in doc["services"].items():
        for s in spec.get("secrets", []):
            if s not in declared:
                fail(f"service {svc} names an undeclared secret {s}")
        for dep, cond in (spec.get("depends_on") or {}).items():
            if dep not in doc["services"]:
                fail(f"service {svc} waits for a service that does not exist: {dep}")
    print(f"check.py: compose's {len(declared)} secrets are all made by make-secrets.sh")


if __name__ == "__main__":
    cmd, *args = sys.argv[1:] or ["help"]
    if cmd == "manifests":
        manifests(*args)
    elif cmd == "queries":
        queries(*args)
    elif cmd == "metrics":
        metrics()
    elif cmd == "compose":
        compose()
    else:
        sys.exit(__doc__)
