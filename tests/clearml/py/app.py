"""An app a ClearML agent runs: serves HTTP and asks the gateway for an endpoint.

Every GET answers with the task's id and the path it saw; GET .../quit ends the app (and the
task, completed). The endpoints Task.list_external_endpoints() returns go to the console log as
one line: ENDPOINTS <json>. Hyperparameter General/static_route names a static route to attach
to (empty: an ephemeral /service/ endpoint).
"""
import http.server
import json
import threading

from clearml import Task

task = Task.init()
static_route = task.get_parameter("General/static_route") or None
done = threading.Event()


class App(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"task": task.id, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.path.rstrip("/").endswith("/quit"):
            done.set()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), App)
threading.Thread(target=server.serve_forever, daemon=True).start()
endpoint = task.request_external_endpoint(
    port=server.server_address[1], protocol="http", wait=True, static_route=static_route
)
print("ENDPOINTS " + json.dumps(task.list_external_endpoints()), flush=True)
done.wait(timeout=300)
