# A custom handler in Python's standard library only: any language that can serve HTTP works.
# Run it with: lapis func start --dir examples/python
import json, os
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlparse, parse_qs


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        payload = json.loads(body)
        req = payload["Data"]["req"]
        query = req.get("Query") or {}
        if isinstance(query, str):
            query = json.loads(query or "{}")
        name = query.get("name") or "World"
        out = {"Outputs": {"res": {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                                   "body": json.dumps({"message": "Hello, " + name + "!"})}},
               "Logs": ["greeted " + name], "ReturnValue": None}
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


HTTPServer(("127.0.0.1", int(os.environ["FUNCTIONS_CUSTOMHANDLER_PORT"])), Handler).serve_forever()
