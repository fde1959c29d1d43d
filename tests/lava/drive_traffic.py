"""Drives a LAVA server over HTTP the way a lab's users, CI systems and
workers do, for a bounded time and number of requests.

  - people browsing the web UI, anonymously or signed in: job lists (all,
    active, queue, health checks, their own, favourites), device and
    device-type pages, workers, job pages, results, job errors;
  - CI systems polling the REST API (/api/v0.2/jobs/ with filters, a job's
    suites and tests) and XML-RPC (scheduler.jobs.list, scheduler.jobs.queue,
    scheduler.jobs.show), and resubmitting jobs;
  - the lab: each worker's heartbeat every 20 s through the internal API,
    and, for the jobs the scheduler gave a worker, what its dispatcher
    reports: the job running, its log with test results, the job finished.

Everything it needs to know about the lab comes from the manifest written by
generate_lab.py. Standard library only.

usage: drive_traffic.py --url http://127.0.0.1:PORT --manifest PATH
                        [--duration S] [--max-requests N] [--clients N]
"""

import argparse
import datetime
import http.cookiejar
import json
import random
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xmlrpc.client

WORKER_VERSION = "2023.01"
HEARTBEAT_INTERVAL_S = 20
REQUEST_TIMEOUT_S = 60
JOB_STATES = ["Submitted", "Scheduled", "Running", "Finished"]
JOB_HEALTHS = ["Complete", "Incomplete", "Canceled"]


class Statistics:
    """Per request kind: count, failures and latencies; shared by the threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies_ms = {}
        self.failures = {}

    def record(self, kind, elapsed_s, failure=None):
        with self.lock:
            self.latencies_ms.setdefault(kind, []).append(elapsed_s * 1000)
            if failure is not None:
                self.failures.setdefault(kind, {}).setdefault(failure, 0)
                self.failures[kind][failure] += 1

    def total(self):
        with self.lock:
            return sum(len(v) for v in self.latencies_ms.values())

    def print_summary(self, out):
        rows = []
        with self.lock:
            for kind, values in self.latencies_ms.items():
                ordered = sorted(values)
                p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
                failures = ",".join(f"{k}x{v}" for k, v in sorted(self.failures.get(kind, {}).items()))
                rows.append((sum(values), kind, len(values), sum(values) / len(values), p95, failures))
        print(f"{'request kind':<34} {'count':>6} {'mean ms':>8} {'p95 ms':>8}  failures", file=out)
        for _, kind, count, mean, p95, failures in sorted(rows, reverse=True):
            print(f"{kind:<34} {count:>6} {mean:>8.1f} {p95:>8.1f}  {failures}", file=out)


class Budget:
    """The run's limits: a deadline and a number of requests."""

    def __init__(self, duration_s, max_requests, statistics):
        self.deadline = time.monotonic() + duration_s
        self.max_requests = max_requests
        self.statistics = statistics
        self.stop_event = threading.Event()

    def exhausted(self):
        if time.monotonic() >= self.deadline or self.statistics.total() >= self.max_requests:
            self.stop_event.set()
        return self.stop_event.is_set()

    def sleep(self, seconds):
        """Waits, waking at once when the run is over; False then."""
        remaining = self.deadline - time.monotonic()
        self.stop_event.wait(max(0.0, min(seconds, remaining)))
        return not self.exhausted()


class HttpSession:
    """One HTTP client with its cookies (a browser, a CI system, a worker)."""

    def __init__(self, base_url, statistics, headers=None):
        self.base_url = base_url.rstrip("/")
        self.statistics = statistics
        self.headers = headers or {}
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(self, kind, path, data=None, headers=None, expected=(200,)):
        """Returns the body (bytes), or None when the status was not expected."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base_url + path, data=body,
                                         headers={**self.headers, **(headers or {})})
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT_S) as response:
                content = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            content, status = error.read(), error.code
        except (urllib.error.URLError, OSError) as error:
            self.statistics.record(kind, time.monotonic() - started, type(error).__name__)
            return None
        elapsed = time.monotonic() - started
        if status not in expected:
            self.statistics.record(kind, elapsed, str(status))
            return None
        self.statistics.record(kind, elapsed)
        return content

    def cookie(self, name):
        return next((c.value for c in self.cookies if c.name == name), None)

    def sign_in(self, username, password):
        self.request("login form", "/accounts/login/")
        csrf = self.cookie("csrftoken")
        self.request("login", "/accounts/login/",
                     data={"username": username, "password": password,
                           "csrfmiddlewaretoken": csrf or "", "next": "/"},
                     headers={"Referer": self.base_url + "/accounts/login/"})
        return self.cookie("sessionid") is not None


class TimedTransport(xmlrpc.client.Transport):
    """XML-RPC transport with a timeout."""

    def make_connection(self, host):
        connection = super().make_connection(host)
        connection.timeout = REQUEST_TIMEOUT_S
        return connection


class LabUsers:
    """The request kinds of people and CI systems, drawn by weight."""

    def __init__(self, base_url, manifest, statistics, rng):
        self.base_url = base_url
        self.manifest = manifest
        self.statistics = statistics
        self.rng = rng
        self.browser = HttpSession(base_url, statistics)
        self.signed_in = None
        ci_user = rng.choice(manifest["ci_users"])
        self.ci = HttpSession(base_url, statistics,
                              headers={"Authorization": f"Token {ci_user['token']}"})
        host = urllib.parse.urlsplit(base_url).netloc
        self.xmlrpc = xmlrpc.client.ServerProxy(
            f"http://{ci_user['username']}:{ci_user['token']}@{host}/RPC2",
            transport=TimedTransport(), allow_none=True)
        self.kinds = [
            (self.all_jobs, 14), (self.active_jobs, 5), (self.queue, 4),
            (self.health_checks, 2), (self.device_types, 3), (self.device_type, 5),
            (self.devices, 3), (self.device, 6), (self.workers, 1), (self.job_page, 6),
            (self.private_job, 1), (self.results_index, 3), (self.job_results, 4),
            (self.job_errors, 1), (self.my_jobs, 4), (self.favourite_jobs, 1),
            (self.rest_jobs, 12), (self.rest_job_results, 5), (self.rest_devices, 2),
            (self.xmlrpc_jobs_list, 8), (self.xmlrpc_queue, 6), (self.xmlrpc_show, 3),
            (self.xmlrpc_resubmit, 1),
        ]

    def run_one(self):
        action = self.rng.choices([k for k, _ in self.kinds], [w for _, w in self.kinds])[0]
        action()

    # -- the web UI --------------------------------------------------------
    def page_number(self):
        # Most people look at the first pages, a few page far back.
        return self.rng.choice([1, 1, 1, 2, 2, 3, 5, 10, 50, 200])

    def all_jobs(self):
        page = self.page_number()
        self.browser.request("ui alljobs", f"/scheduler/alljobs?page={page}" if page > 1
                             else "/scheduler/alljobs")

    def active_jobs(self):
        self.browser.request("ui activejobs", "/scheduler/activejobs")

    def queue(self):
        self.browser.request("ui queue", "/scheduler/queue")

    def health_checks(self):
        self.browser.request("ui healthcheck", "/scheduler/healthcheck")

    def device_types(self):
        self.browser.request("ui device_types", "/scheduler/device_types")

    def device_type(self):
        name = self.rng.choice(self.manifest["device_types"])
        self.browser.request("ui device_type", f"/scheduler/device_type/{name}", expected=(200, 404))

    def devices(self):
        self.browser.request("ui alldevices", "/scheduler/alldevices")

    def device(self):
        hostname = self.rng.choice(self.manifest["devices"])
        self.browser.request("ui device", f"/scheduler/device/{hostname}", expected=(200, 404))

    def workers(self):
        self.browser.request("ui allworkers", "/scheduler/allworkers")

    def job_page(self):
        job_id = self.rng.choice(self.manifest["public_job_ids"])
        self.browser.request("ui job", f"/scheduler/job/{job_id}")

    def private_job(self):
        # Anonymous people following a link to a private job: 403.
        job_id = self.rng.choice(self.manifest["private_job_ids"] or [0])
        self.browser.request("ui job (private)", f"/scheduler/job/{job_id}", expected=(403, 404))

    def results_index(self):
        self.browser.request("ui results", "/results/")

    def job_results(self):
        job_id = self.rng.choice(self.manifest["finished_public_job_ids"])
        self.browser.request("ui job results", f"/results/{job_id}")
        if self.rng.random() < 0.5:
            self.browser.request("ui suite results", f"/results/{job_id}/lava")

    def job_errors(self):
        self.browser.request("ui joberrors", "/scheduler/joberrors")

    def signed_in_session(self):
        if self.signed_in is None:
            username = self.rng.choice(self.manifest["login_users"])
            session = HttpSession(self.base_url, self.statistics)
            if not session.sign_in(username, username):
                self.statistics.record("login", 0, "rejected")
            self.signed_in = session
        return self.signed_in

    def my_jobs(self):
        path = self.rng.choice(["/scheduler/myjobs", "/scheduler/myactivejobs",
                                "/scheduler/myqueuedjobs", "/scheduler/myerrorjobs",
                                "/scheduler/alljobs"])
        self.signed_in_session().request("ui signed-in " + path.rsplit("/", 1)[1], path)

    def favourite_jobs(self):
        self.signed_in_session().request("ui signed-in favorite-jobs", "/scheduler/favorite-jobs")

    # -- CI systems: REST ------------------------------------------------------
    def rest_jobs(self):
        filters = {"limit": self.rng.choice([10, 50, 100]), "ordering": "-submit_time"}
        shape = self.rng.random()
        if shape < 0.4:
            filters["state"] = self.rng.choice(JOB_STATES)
            filters["requested_device_type"] = self.rng.choice(self.manifest["device_types"])
        elif shape < 0.7:
            filters["health"] = self.rng.choice(JOB_HEALTHS)
            filters["submitter__username"] = self.rng.choice([u["username"] for u in self.manifest["ci_users"]])
        elif shape < 0.85:
            since = datetime.datetime.utcnow() - datetime.timedelta(days=self.rng.choice([1, 7, 30]))
            filters["submit_time__gt"] = since.strftime("%Y-%m-%dT%H:%M:%S")
        else:
            filters["offset"] = self.rng.choice([0, 100, 1000, 5000])
        self.ci.request("api jobs list", "/api/v0.2/jobs/?" + urllib.parse.urlencode(filters))

    def rest_job_results(self):
        job_id = self.rng.choice(self.manifest["finished_public_job_ids"])
        self.ci.request("api job", f"/api/v0.2/jobs/{job_id}/")
        self.ci.request("api job suites", f"/api/v0.2/jobs/{job_id}/suites/")
        self.ci.request("api job tests", f"/api/v0.2/jobs/{job_id}/tests/?limit=500")

    def rest_devices(self):
        name = self.rng.choice(self.manifest["device_types"])
        self.ci.request("api devices", f"/api/v0.2/devices/?device_type={name}")

    # -- CI systems: XML-RPC -----------------------------------------------
    def call(self, kind, method, *params):
        started = time.monotonic()
        try:
            result = getattr(self.xmlrpc, method)(*params)
        except xmlrpc.client.Fault as fault:
            self.statistics.record(kind, time.monotonic() - started, f"fault{fault.faultCode}")
            return None
        except (xmlrpc.client.ProtocolError, OSError) as error:
            self.statistics.record(kind, time.monotonic() - started, type(error).__name__)
            return None
        self.statistics.record(kind, time.monotonic() - started)
        return result

    def xmlrpc_jobs_list(self):
        state = self.rng.choice([None, "SUBMITTED", "RUNNING", "FINISHED"])
        health = self.rng.choice([None, None, "COMPLETE", "INCOMPLETE"])
        self.call("rpc scheduler.jobs.list", "scheduler.jobs.list", state, health,
                  self.rng.choice([0, 0, 100, 1000]), 100)

    def xmlrpc_queue(self):
        device_types = self.rng.sample(self.manifest["device_types"], self.rng.randint(1, 3))
        self.call("rpc scheduler.jobs.queue", "scheduler.jobs.queue",
                  self.rng.choice([None, device_types]), 0, 100)

    def xmlrpc_show(self):
        job_id = self.rng.choice(self.manifest["public_job_ids"])
        self.call("rpc scheduler.jobs.show", "scheduler.jobs.show", job_id)

    def xmlrpc_resubmit(self):
        job_id = self.rng.choice(self.manifest["finished_public_job_ids"])
        definition = self.call("rpc scheduler.jobs.definition", "scheduler.jobs.definition", job_id)
        if definition:
            self.call("rpc scheduler.jobs.submit", "scheduler.jobs.submit", definition)


class SimulatedWorkers:
    """The lab's workers: heartbeats, and the dispatcher's side of each job."""

    def __init__(self, base_url, manifest, statistics, rng):
        self.session = HttpSession(base_url, statistics)
        self.workers = manifest["workers"]
        self.rng = rng
        self.jobs = {}  # job id -> {"token", "finish_at", "logged"}

    def heartbeat(self, worker):
        body = self.session.request(
            "internal worker heartbeat",
            f"/scheduler/internal/v1/workers/{worker['hostname']}/?version={WORKER_VERSION}",
            headers={"LAVA-Token": worker["token"]})
        if body is None:
            return
        orders = json.loads(body)
        now = time.monotonic()
        for job in orders.get("start", []):
            if job["id"] not in self.jobs:
                self.report_state(job["id"], job["token"], {"state": "Running"})
                self.jobs[job["id"]] = {"token": job["token"], "logged": False,
                                        "finish_at": now + self.rng.uniform(10, 40)}
        for job in orders.get("running", []):
            # Jobs that were running before this run: let them end soon.
            self.jobs.setdefault(job["id"], {"token": job["token"], "logged": False,
                                             "finish_at": now + self.rng.uniform(5, 60)})
        for job in orders.get("cancel", []):
            self.report_state(job["id"], job["token"],
                              {"state": "Finished", "result": "fail", "error_type": "Canceled",
                               "errors": "Canceled by the user"})
            self.jobs.pop(job["id"], None)

    def report_state(self, job_id, token, fields):
        self.session.request("internal job state", f"/scheduler/internal/v1/jobs/{job_id}/",
                             data=fields, headers={"LAVA-Token": token}, expected=(200, 404))

    def upload_log(self, job_id, token):
        now = datetime.datetime.utcnow().isoformat()
        lines = [json.dumps({"dt": now, "lvl": "info", "msg": f"start: {i} action"}) for i in range(20)]
        cases = ["validate", "tftp-deploy", "auto-login-action", "lava-test-shell", "job"]
        lines += [json.dumps({"dt": now, "lvl": "results",
                              "msg": {"definition": "lava", "case": case, "result": "pass",
                                      "duration": f"{self.rng.uniform(0.1, 90):.2f}"}})
                  for case in cases]
        suite = f"1_{self.rng.choice(['smoke', 'ltp-syscalls', 'kselftest-net'])}"
        lines += [json.dumps({"dt": now, "lvl": "results",
                              "msg": {"definition": suite, "case": f"case-{i:03d}",
                                      "result": self.rng.choice(["pass"] * 8 + ["fail", "skip"])}})
                  for i in range(self.rng.randint(10, 60))]
        self.session.request("internal job logs", f"/scheduler/internal/v1/jobs/{job_id}/logs/",
                             data={"lines": "\n".join("- " + line for line in lines), "index": 0},
                             headers={"LAVA-Token": token}, expected=(200, 404))

    def advance_jobs(self, budget):
        now = time.monotonic()
        for job_id, job in list(self.jobs.items()):
            if budget.exhausted():
                return
            if not job["logged"]:
                self.upload_log(job_id, job["token"])
                job["logged"] = True
            elif now >= job["finish_at"]:
                result = "pass" if self.rng.random() < 0.85 else "fail"
                self.report_state(job_id, job["token"], {"state": "Finished", "result": result})
                del self.jobs[job_id]

    def run(self, budget):
        while not budget.exhausted():
            started = time.monotonic()
            for worker in self.workers:
                if budget.exhausted():
                    return
                self.heartbeat(worker)
            self.advance_jobs(budget)
            if not budget.sleep(HEARTBEAT_INTERVAL_S - (time.monotonic() - started)):
                return


def run_lab_users(base_url, manifest, statistics, budget, seed):
    users = LabUsers(base_url, manifest, statistics, random.Random(seed))
    while not budget.exhausted():
        users.run_one()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="LAVA's base URL")
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--duration", type=float, default=120, help="seconds")
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=2,
                        help="concurrent people and CI systems (besides the workers)")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()

    with open(options.manifest, encoding="utf-8") as source:
        manifest = json.load(source)
    statistics = Statistics()
    budget = Budget(options.duration, options.max_requests, statistics)
    threads = [threading.Thread(target=SimulatedWorkers(options.url, manifest, statistics,
                                                        random.Random(options.seed)).run,
                                args=(budget,), name="workers")]
    threads += [threading.Thread(target=run_lab_users,
                                 args=(options.url, manifest, statistics, budget, options.seed + i + 1),
                                 name=f"client-{i}")
                for i in range(options.clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        budget.stop_event.set()
        for thread in threads:
            thread.join()
    elapsed = time.monotonic() - started
    print(f"{statistics.total()} requests in {elapsed:.0f} s")
    statistics.print_summary(sys.stdout)


if __name__ == "__main__":
    main()
