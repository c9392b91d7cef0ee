#!/usr/bin/env python3
"""A small FHIR R4 server for chartscan's push tests. It is not chartscan's code: it validates
every bundle it receives with fhir.resources (the independent R4 implementation the tests
use) and answers 400 with an OperationOutcome when a resource is invalid.

It implements what `chartscan push` relies on, as the FHIR specification describes it:
transaction Bundles posted to the base URL, processed in the specification's order (DELETE,
then POST, then PUT), all or nothing; conditional create (`ifNoneExist: identifier=S|V`);
conditional delete (`Type?identifier=S|V`) and delete by id; update by id (PUT creates) and
conditional update (`PUT Type?identifier=S|V`);
`urn:uuid:` references rewritten to the ids assigned; search by `identifier`, and
`GET /Type` listing everything of a type with its total.

Faults, for the tests, set with `POST /_test/faults {"fail": N, "hang": true}`: the next N
transactions get 503 (nothing applied); with `hang`, the next transaction is applied and
then the answer waits 60 s (a client killed meanwhile was committed on the server but does
not know it). `--fail-first N` sets `fail` at start.

    server.py [--port 0] [--fail-first N]

Prints `listening on PORT` once ready; logs each transaction to stderr.
"""
import argparse
import copy
import itertools
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from fhir.resources import __fhir_version__
from fhir.resources.bundle import Bundle

LOCK = threading.Lock()
STORE = {}  # type -> id -> resource
IDS = itertools.count(1)
STATE = {"transactions": 0, "fail": 0, "hang": False}


def outcome(message, code="invalid"):
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": message}]}


def find_by_identifier(rtype, token):
    system, _, value = token.partition("|")
    found = []
    for rid, r in STORE.get(rtype, {}).items():
        for ident in r.get("identifier", []):
            if ident.get("value") == value and (not system or ident.get("system") == system):
                found.append(rid)
                break
    return found


def rewrite_refs(node, mapping):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "reference" and isinstance(v, str) and v in mapping:
                node[k] = mapping[v]
            else:
                rewrite_refs(v, mapping)
    elif isinstance(node, list):
        for v in node:
            rewrite_refs(v, mapping)


def transaction(bundle):
    """Applies a transaction Bundle all or nothing; returns (status, body)."""
    global STORE
    saved = STORE
    STORE = copy.deepcopy(STORE)
    try:
        status, body = apply(bundle)
    except (KeyError, TypeError, ValueError) as err:
        status, body = 400, outcome(f"malformed transaction: {err!r}")
    if status != 200:
        STORE = saved
    return status, body


def apply(bundle):
    entries = bundle.get("entry", [])
    responses = [None] * len(entries)
    mapping = {}
    order = sorted(range(len(entries)), key=lambda i: {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3}.get(entries[i]["request"]["method"], 4))
    # Ids first, so that references between entries can be rewritten.
    for i in order:
        e = entries[i]
        req = e["request"]
        if req["method"] == "POST":
            rtype = req["url"]
            existing = []
            if req.get("ifNoneExist"):
                q = parse_qs(req["ifNoneExist"])
                if "identifier" not in q:
                    return 400, outcome(f"ifNoneExist {req['ifNoneExist']}: only identifier is supported")
                existing = find_by_identifier(rtype, q["identifier"][0])
            if len(existing) > 1:
                return 412, outcome(f"ifNoneExist matches {len(existing)} {rtype} resources")
            if existing:
                e["_id"], e["_status"] = existing[0], "200 OK"
            else:
                e["_id"], e["_status"] = str(next(IDS)), "201 Created"
                e["_new"] = True
            if e.get("fullUrl"):
                mapping[e["fullUrl"]] = f"{rtype}/{e['_id']}"
        elif req["method"] == "PUT":
            if "?" in req["url"]:  # conditional update
                rtype, _, query = req["url"].partition("?")
                q = parse_qs(query)
                if "identifier" not in q:
                    return 400, outcome(f"conditional update {req['url']}: only identifier is supported")
                found = find_by_identifier(rtype, q["identifier"][0])
                if len(found) > 1:
                    return 412, outcome(f"conditional update matches {len(found)} {rtype} resources")
                rid = found[0] if found else str(next(IDS))
            else:
                rtype, _, rid = req["url"].partition("/")
            e["_id"] = rid
            e["_status"] = "200 OK" if rid in STORE.get(rtype, {}) else "201 Created"
            if e.get("fullUrl"):
                mapping[e["fullUrl"]] = f"{rtype}/{rid}"
    for i in order:
        e = entries[i]
        req = e["request"]
        if req["method"] == "DELETE":
            url = urlparse(req["url"])
            rtype = url.path.split("/")[0]
            if "/" in url.path:
                ids = [url.path.split("/", 1)[1]]
            else:
                q = parse_qs(url.query)
                if "identifier" not in q:
                    return 400, outcome(f"conditional delete {req['url']}: only identifier is supported")
                ids = find_by_identifier(rtype, q["identifier"][0])
            for rid in ids:
                STORE.get(rtype, {}).pop(rid, None)
            responses[i] = {"response": {"status": "204 No Content" if ids else "404 Not Found"}}
        elif req["method"] in ("POST", "PUT"):
            rtype = e["resource"]["resourceType"]
            if req["method"] == "POST" and not e.get("_new"):
                responses[i] = {"response": {"status": e["_status"], "location": f"{rtype}/{e['_id']}"}}
                continue
            r = copy.deepcopy(e["resource"])
            rewrite_refs(r, mapping)
            dangling = [v for v in json.dumps(r).split('"') if v.startswith("urn:uuid:")]
            if dangling:
                return 400, outcome(f"{rtype} refers to {dangling[0]}, which is not in the bundle")
            r["id"] = e["_id"]
            STORE.setdefault(rtype, {})[e["_id"]] = r
            responses[i] = {"response": {"status": e["_status"], "location": f"{rtype}/{e['_id']}"}}
    return 200, {"resourceType": "Bundle", "type": "transaction-response", "entry": responses}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if ARGS.require_auth and self.headers.get("Authorization") != ARGS.require_auth:
            print("refused: wrong or missing Authorization", file=sys.stderr, flush=True)
            return self.reply(401, outcome("authentication required", "login"))
        path = urlparse(self.path).path.rstrip("/")
        if path == "/_test/faults":
            with LOCK:
                faults = json.loads(raw)
                STATE["fail"] = int(faults.get("fail", 0))
                STATE["hang"] = bool(faults.get("hang", False))
            return self.reply(200, {"fail": STATE["fail"], "hang": STATE["hang"]})
        if path not in ("", "/fhir"):
            return self.reply(404, outcome("post transactions to the base URL", "not-supported"))
        hang = False
        with LOCK:
            STATE["transactions"] += 1
            n = STATE["transactions"]
            if STATE["fail"] > 0:
                STATE["fail"] -= 1
                print(f"transaction {n}: 503 (injected)", file=sys.stderr, flush=True)
                return self.reply(503, outcome("temporarily unavailable (injected fault)", "transient"))
            try:
                data = json.loads(raw)
                Bundle.parse_obj(data)
            except Exception as err:
                print(f"transaction {n}: invalid: {err}", file=sys.stderr, flush=True)
                return self.reply(400, outcome(f"invalid FHIR R4 bundle: {err}"))
            if data.get("type") != "transaction":
                return self.reply(400, outcome("only transaction bundles are accepted"))
            status, body = transaction(data)
            print(f"transaction {n}: {status}, {len(data.get('entry', []))} entries", file=sys.stderr, flush=True)
            if status == 200 and STATE["hang"]:
                STATE["hang"], hang = False, True
        if hang:
            print(f"transaction {n}: committed, now hanging", file=sys.stderr, flush=True)
            time.sleep(60)
        self.reply(status, body)

    def do_GET(self):
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p and p != "fhir"]
        with LOCK:
            if parts == ["metadata"]:
                return self.reply(200, {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance", "fhirVersion": __fhir_version__, "format": ["json"], "date": "2026-01-01"})
            if len(parts) == 1:
                rtype = parts[0]
                q = parse_qs(url.query)
                ids = find_by_identifier(rtype, q["identifier"][0]) if "identifier" in q else list(STORE.get(rtype, {}))
                entries = [{"resource": STORE[rtype][i]} for i in ids]
                return self.reply(200, {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries})
            if len(parts) == 2 and parts[1] in STORE.get(parts[0], {}):
                return self.reply(200, STORE[parts[0]][parts[1]])
        self.reply(404, outcome("not found", "not-found"))


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate chain (PEM)")
    p.add_argument("--tls-key", help="the certificate's private key (PEM)")
    p.add_argument("--require-auth", help="refuse transactions without exactly this Authorization header")
    ARGS = p.parse_args()
    STATE["fail"] = ARGS.fail_first
    if __fhir_version__ != "4.0.1":
        sys.exit(f"fhir.resources speaks FHIR {__fhir_version__}, not R4 4.0.1")
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    server.daemon_threads = True
    if ARGS.tls_cert:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
