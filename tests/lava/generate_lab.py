"""Fills a LAVA database with a lab's worth of data, through LAVA's own models.

A lab has tens of device types, hundreds of devices on a dozen workers, CI
users and groups, and many test jobs: most finished (with their test suites
and test cases, which outnumber jobs by far), some running, a queue of
submitted jobs, some private ones. Job ids grow with submit time, as in a
real lab. Everything is inserted with bulk_create, in batches, so memory stays
bounded at any scale.

It also writes, for the traffic driver and the scheduler:
  - the device dictionaries (one `{% extends 'TYPE.jinja2' %}` file per
    device) and a health check per device type;
  - a manifest (JSON) of what the driver needs to know about the lab:
    workers and their tokens, devices, device types, users and API tokens,
    job id ranges.

Run with the kit's Django settings (see common.sh). A lab that already has
devices is kept as it is: only the files and the manifest are written again.

usage: generate_lab.py --jobs N --manifest PATH [--seed S]
"""

import argparse
import contextlib
import datetime
import json
import math
import os
import random
import sys
import time

import django

django.setup()

# pylint: disable=wrong-import-position
from django.contrib.admin.models import CHANGE, LogEntry  # noqa: E402
from django.contrib.auth.models import Group, Permission, User  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from lava_results_app.models import TestCase, TestSet, TestSuite  # noqa: E402
from lava_scheduler_app.models import (  # noqa: E402
    Alias,
    Architecture,
    Device,
    DeviceType,
    GroupDeviceTypePermission,
    Tag,
    TestJob,
    TestJobUser,
    Worker,
)
from lava_server.files import File  # noqa: E402
from linaro_django_xmlrpc.models import AuthToken  # noqa: E402

BATCH_SIZE = 2000
LOGIN_USER_COUNT = 5
LAB_DAYS = 180

# Boards seen in public labs; the rest of the device types are drawn from
# the templates LAVA ships.
WELL_KNOWN_DEVICE_TYPES = [
    "qemu",
    "bcm2711-rpi-4-b",
    "dragonboard-410c",
    "dragonboard-845c",
    "juno-r2",
    "am57xx-beagle-x15",
    "beaglebone-black",
    "hi6220-hikey",
    "imx8mq-evk",
    "x86",
]
ARCHITECTURES = ["arm64", "armhf", "x86_64", "riscv64"]
DEVICE_TAG_NAMES = ["usb-hub", "hdmi", "4gb-ram", "8gb-ram", "ethernet", "wifi",
                    "sd-card", "emmc", "nvme", "camera", "audio", "gpu"]
GROUP_NAMES = ["lkft", "kernelci", "mesa-ci", "qa-team", "bsp-team",
               "vendor-a", "vendor-b", "lab-admins"]
CI_USERS = {"kernelci-bot": "kernelci", "lkft-bot": "lkft", "mesa-ci-bot": "mesa-ci"}
SUITE_NAMES = ["ltp-syscalls", "ltp-fs", "kselftest-net", "kselftest-timers",
               "baseline", "boot", "piglit", "deqp-gles3", "igt-kms", "smoke",
               "ssuite-bench", "android-cts"]
TEST_SET_NAMES = ["setup", "core", "stress", "teardown"]
LAVA_ACTION_CASES = ["validate", "tftp-deploy", "auto-login-action", "lava-test-shell", "job"]
ERROR_TYPES = ["Infrastructure", "Job", "Test", "Bug", "Configuration", "Canceled"]


class Lab:
    """Draws the lab's random facts from one seeded generator."""

    def __init__(self, seed, job_count):
        self.random = random.Random(seed)
        self.job_count = job_count
        self.now = timezone.now()
        self.first_submit = self.now - datetime.timedelta(days=LAB_DAYS)

    def pick_weighted(self, weighted):
        values, weights = zip(*weighted)
        return self.random.choices(values, weights)[0]

    def test_case_count(self):
        # Log-uniform between 10 and 100: many small jobs, a few large ones.
        return int(math.exp(self.random.uniform(math.log(10), math.log(100))))


@contextlib.contextmanager
def explicit_timestamps(*fields):
    """Lets bulk_create keep the times we set on auto_now(_add) fields."""
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def log(message):
    print(f"[generate_lab] {message}", file=sys.stderr, flush=True)


def shipped_device_types():
    names = sorted(n[: -len(".jinja2")] for n in File("device-type").list("*.jinja2"))
    return [n for n in names if n != "base" and not n.startswith("base-")
            and n != "hp-x360-14-G1-sona"]


def create_people(lab):
    groups = [Group.objects.get_or_create(name=name)[0] for name in GROUP_NAMES]
    users = []
    for index in range(60):
        user = User(username=f"user{index:02d}", email=f"user{index:02d}@lab.example.org",
                    first_name=f"First{index}", last_name=f"Last{index}")
        # A few people sign in to the web UI (password = user name).
        if index < LOGIN_USER_COUNT:
            user.set_password(user.username)
        else:
            user.set_unusable_password()
        users.append(user)
    for name in CI_USERS:
        users.append(User(username=name, email=f"{name}@lab.example.org"))
    admin = User(username="lab-admin", is_staff=True, is_superuser=True)
    admin.set_password("lab-admin")
    users.append(admin)
    User.objects.bulk_create(users)
    users = list(User.objects.exclude(username="lava-health").order_by("id"))
    by_name = {g.name: g for g in groups}
    for user in users:
        if user.username in CI_USERS:
            user.groups.add(by_name[CI_USERS[user.username]])
        else:
            user.groups.add(*lab.random.sample(groups, lab.random.randint(0, 2)))
    # CI systems authenticate to the REST API and XML-RPC with an API token.
    for name in CI_USERS:
        AuthToken.objects.create(user=User.objects.get(username=name), description="CI polling")
    return users, groups


def create_device_types(lab, count):
    shipped = shipped_device_types()
    names = [n for n in WELL_KNOWN_DEVICE_TYPES if n in shipped]
    others = [n for n in shipped if n not in names]
    names += lab.random.sample(others, max(0, count - len(names)))
    architectures = [Architecture.objects.get_or_create(name=n)[0] for n in ARCHITECTURES]
    device_types = [
        DeviceType(name=name, architecture=lab.random.choice(architectures),
                   description=f"{name} boards", health_frequency=24,
                   health_denominator=DeviceType.HEALTH_PER_HOUR,
                   disable_health_check=lab.random.random() < 0.2)
        for name in names[:count]
    ]
    DeviceType.objects.bulk_create(device_types)
    Alias.objects.bulk_create(
        [Alias(name=f"{dt.name}-alias", device_type=dt) for dt in device_types[::4]])
    return device_types


def restrict_device_types(lab, device_types, groups):
    """A vendor's boards are visible to that vendor only (a private device type)."""
    vendor_groups = [g for g in groups if g.name.startswith("vendor-")]
    content_type = ContentType.objects.get_for_model(DeviceType)
    view = Permission.objects.get(content_type=content_type, codename="view_devicetype")
    for device_type, group in zip(device_types[-2:], vendor_groups):
        GroupDeviceTypePermission.objects.create(
            permission=view, group=group, devicetype=device_type)


def create_workers(lab, count):
    workers = [Worker(hostname=f"worker-{index:02d}", state=Worker.STATE_ONLINE,
                      health=Worker.HEALTH_ACTIVE, last_ping=lab.now,
                      description=f"rack {index // 4}", version="2023.01",
                      job_limit=lab.random.choice([0, 0, 8, 16]))
               for index in range(count)]
    workers[-1].health = Worker.HEALTH_MAINTENANCE
    # The placeholder worker LAVA's migrations create is not part of the lab.
    Worker.objects.update(health=Worker.HEALTH_RETIRED, state=Worker.STATE_OFFLINE)
    Worker.objects.bulk_create(workers)
    return workers


def create_devices(lab, device_types, workers, count):
    tags = [Tag.objects.get_or_create(name=name)[0] for name in DEVICE_TAG_NAMES]
    # Popular boards have many devices, rare ones a few.
    weights = [1.0 / (rank + 1) ** 0.7 for rank in range(len(device_types))]
    per_type = {dt.name: 1 for dt in device_types}
    for device_type in lab.random.choices(device_types, weights, k=count - len(device_types)):
        per_type[device_type.name] += 1
    devices = []
    for device_type in device_types:
        for index in range(per_type[device_type.name]):
            health = lab.pick_weighted([(Device.HEALTH_GOOD, 78), (Device.HEALTH_BAD, 5),
                                        (Device.HEALTH_MAINTENANCE, 10), (Device.HEALTH_RETIRED, 7)])
            devices.append(Device(hostname=f"{device_type.name}-{index + 1:02d}",
                                  device_type=device_type, worker_host=lab.random.choice(workers),
                                  health=health, state=Device.STATE_IDLE,
                                  description=f"{device_type.name} in rack {index % 6}"))
    Device.objects.bulk_create(devices)
    for device in devices:
        device.tags.add(*lab.random.sample(tags, lab.random.randint(0, 4)))
    return devices, tags


def log_device_history(lab, devices, users):
    """Health changes as the admin pages record them (django_admin_log)."""
    content_type = ContentType.objects.get_for_model(Device)
    admins = [u for u in users if u.is_superuser] or users[:1]
    entries = []
    for device in devices:
        for _ in range(lab.random.randint(2, 20)):
            entries.append(LogEntry(
                user=lab.random.choice(admins), content_type=content_type,
                object_id=device.hostname, object_repr=device.hostname,
                action_flag=CHANGE,
                action_time=lab.first_submit + datetime.timedelta(
                    seconds=lab.random.uniform(0, LAB_DAYS * 86400)),
                change_message=lab.random.choice(
                    ["Good → Bad (health check failed)", "Bad → Unknown (manual)",
                     "Unknown → Good (health check passed)", "Good → Maintenance"])))
    LogEntry.objects.bulk_create(entries, batch_size=BATCH_SIZE)


def job_definition(job_index, device_type, suites, visibility):
    tests = "\n".join(
        f"    - repository: https://git.lab.example.org/test-definitions.git\n"
        f"      from: git\n"
        f"      path: automated/linux/{name}/{name}.yaml\n"
        f"      name: {name}"
        for name in suites)
    return (
        f"device_type: {device_type}\n"
        f"job_name: {device_type} v6.1.{job_index % 97} {' '.join(suites)}\n"
        f"priority: medium\n"
        f"visibility: {visibility}\n"
        f"timeouts:\n  job: {{minutes: 60}}\n  action: {{minutes: 10}}\n"
        f"  connection: {{minutes: 2}}\n"
        f"metadata:\n  kernel.version: v6.1.{job_index % 97}\n"
        f"  build: https://ci.lab.example.org/builds/{job_index}\n"
        f"actions:\n"
        f"- deploy:\n    to: tftp\n    timeout: {{minutes: 10}}\n"
        f"    kernel: {{url: 'https://storage.lab.example.org/{job_index}/Image', type: image}}\n"
        f"    dtb: {{url: 'https://storage.lab.example.org/{job_index}/board.dtb'}}\n"
        f"    nfsrootfs: {{url: 'https://storage.lab.example.org/rootfs.tar.xz', compression: xz}}\n"
        f"- boot:\n    method: u-boot\n    commands: nfs\n"
        f"    prompts: ['root@lava:']\n    timeout: {{minutes: 5}}\n"
        f"- test:\n    timeout: {{minutes: 30}}\n    definitions:\n{tests}\n"
    )


def job_state_and_health(lab, position):
    """Old jobs are finished; the newest ones run, wait or are being canceled."""
    if position < 0.985:
        state = TestJob.STATE_FINISHED
    else:
        state = lab.pick_weighted([(TestJob.STATE_SUBMITTED, 80), (TestJob.STATE_SCHEDULED, 4),
                                   (TestJob.STATE_RUNNING, 14), (TestJob.STATE_CANCELING, 2)])
    if state != TestJob.STATE_FINISHED:
        return state, TestJob.HEALTH_UNKNOWN
    return state, lab.pick_weighted([(TestJob.HEALTH_COMPLETE, 72), (TestJob.HEALTH_INCOMPLETE, 18),
                                     (TestJob.HEALTH_CANCELED, 10)])


def create_jobs(lab, device_types, devices, users, groups, tags, health_user):
    """Creates the jobs with their suites and test cases, one batch at a time."""
    devices_by_type = {}
    for device in devices:
        if device.health != Device.HEALTH_RETIRED:
            devices_by_type.setdefault(device.device_type_id, []).append(device)
    usable_types = [dt for dt in device_types if dt.name in devices_by_type]
    weights = [len(devices_by_type[dt.name]) for dt in usable_types]
    submitters = [u for u in users if not u.is_superuser]
    ci_submitters = [u for u in submitters if u.username in CI_USERS]
    busy_devices = set()
    span_seconds = LAB_DAYS * 86400
    counts = {"jobs": 0, "suites": 0, "cases": 0}
    last_health_job = {}

    for batch_start in range(0, lab.job_count, BATCH_SIZE):
        jobs = []
        suites_of_job = []
        for job_index in range(batch_start, min(batch_start + BATCH_SIZE, lab.job_count)):
            position = job_index / lab.job_count
            device_type = lab.random.choices(usable_types, weights)[0]
            state, health = job_state_and_health(lab, position)
            health_check = lab.random.random() < 0.08
            submitter = (health_user if health_check else
                         lab.random.choice(ci_submitters) if lab.random.random() < 0.7 else
                         lab.random.choice(submitters))
            is_public = health_check or lab.random.random() < 0.9
            submit_time = lab.first_submit + datetime.timedelta(
                seconds=position * span_seconds + lab.random.uniform(0, 60))
            suites = ["lava"] + lab.random.sample(SUITE_NAMES, lab.random.randint(1, 3))
            job = TestJob(
                submitter=submitter, requested_device_type=device_type,
                description=f"{device_type.name} {' '.join(suites[1:])}",
                health_check=health_check, is_public=is_public, state=state, health=health,
                priority=lab.pick_weighted([(TestJob.MEDIUM, 70), (TestJob.LOW, 20), (TestJob.HIGH, 10)]),
                submit_time=submit_time,
                definition=job_definition(job_index, device_type.name, suites[1:],
                                          "public" if is_public else "personal"),
                pipeline_compatibility=5)
            job.original_definition = job.definition
            if state != TestJob.STATE_SUBMITTED:
                candidates = [d for d in devices_by_type[device_type.name]
                              if d.hostname not in busy_devices or state == TestJob.STATE_FINISHED]
                if not candidates:
                    state = job.state = TestJob.STATE_SUBMITTED
                else:
                    device = lab.random.choice(candidates)
                    job.actual_device = device
                    job.start_time = submit_time + datetime.timedelta(
                        seconds=lab.random.uniform(5, 3600))
                    if state == TestJob.STATE_FINISHED:
                        job.end_time = job.start_time + datetime.timedelta(
                            seconds=lab.random.uniform(60, 5400))
                        if health_check:
                            last_health_job[device.hostname] = job
                    else:
                        busy_devices.add(device.hostname)
                        device.state = (Device.STATE_RUNNING if state != TestJob.STATE_SCHEDULED
                                        else Device.STATE_RESERVED)
            if health == TestJob.HEALTH_INCOMPLETE:
                job.failure_comment = lab.random.choice(
                    ["Infrastructure error: bootloader-commands timed out",
                     "Job error: auto-login-action timed out", "Test error: lava-test-shell"])
            jobs.append(job)
            suites_of_job.append(suites)

        with explicit_timestamps(TestJob._meta.get_field("submit_time")):
            TestJob.objects.bulk_create(jobs)
        create_job_relations(lab, jobs, groups, tags, users)
        suite_count, case_count = create_results(lab, jobs, suites_of_job)
        counts["jobs"] += len(jobs)
        counts["suites"] += suite_count
        counts["cases"] += case_count
        log(f"{counts['jobs']} jobs, {counts['suites']} suites, {counts['cases']} test cases")

    for device in devices:
        device.last_health_report_job = last_health_job.get(device.hostname)
    Device.objects.bulk_update(devices, ["state", "last_health_report_job"], batch_size=BATCH_SIZE)
    return counts


def create_job_relations(lab, jobs, groups, tags, users):
    tag_links, group_links, favourites = [], [], []
    tag_model = TestJob.tags.through
    group_model = TestJob.viewing_groups.through
    for job in jobs:
        # Most jobs need no tag; a queued job may need one no idle device has.
        if lab.random.random() < 0.25:
            for tag in lab.random.sample(tags, lab.random.randint(1, 2)):
                tag_links.append(tag_model(testjob_id=job.id, tag_id=tag.id))
        if not job.is_public and lab.random.random() < 0.5:
            group_links.append(group_model(testjob_id=job.id, group_id=lab.random.choice(groups).id))
        if lab.random.random() < 0.01:
            favourites.append(TestJobUser(test_job=job, user=lab.random.choice(users),
                                          is_favorite=True))
    tag_model.objects.bulk_create(tag_links)
    group_model.objects.bulk_create(group_links)
    TestJobUser.objects.bulk_create(favourites, ignore_conflicts=True)


def create_results(lab, jobs, suites_of_job):
    """Suites and test cases of the finished jobs, inserted in chunks.

    The results of the jobs still running come from their worker's log upload
    during the traffic, as in a lab.
    """
    suites, suite_jobs = [], []
    for job, names in zip(jobs, suites_of_job):
        if job.state != TestJob.STATE_FINISHED:
            continue
        for name in names:
            suites.append(TestSuite(job=job, name=name if name == "lava" else f"{names.index(name)}_{name}"))
            suite_jobs.append(job)
    TestSuite.objects.bulk_create(suites, batch_size=BATCH_SIZE)

    test_sets = [TestSet(suite=s, name=lab.random.choice(TEST_SET_NAMES))
                 for s in suites if s.name != "lava" and lab.random.random() < 0.2]
    TestSet.objects.bulk_create(test_sets, batch_size=BATCH_SIZE)
    set_of_suite = {t.suite_id: t for t in test_sets}

    suites_by_job = {}
    for suite, job in zip(suites, suite_jobs):
        suites_by_job.setdefault(job.id, []).append(suite)

    case_count = 0
    cases = []
    logged_field = TestCase._meta.get_field("logged")
    for job in jobs:
        job_suites = suites_by_job.get(job.id)
        if not job_suites:
            continue
        failed = job.health == TestJob.HEALTH_INCOMPLETE
        test_suites = job_suites[1:] or job_suites
        for case_index in range(lab.test_case_count()):
            # The lava suite has one case per action, the test suites the rest.
            suite = (job_suites[0] if case_index < len(LAVA_ACTION_CASES)
                     else lab.random.choice(test_suites))
            cases.append(make_test_case(lab, job, suite, set_of_suite.get(suite.id),
                                        case_index, failed))
        if len(cases) >= 10000:
            with explicit_timestamps(logged_field):
                TestCase.objects.bulk_create(cases, batch_size=BATCH_SIZE)
            case_count += len(cases)
            cases = []
    with explicit_timestamps(logged_field):
        TestCase.objects.bulk_create(cases, batch_size=BATCH_SIZE)
    case_count += len(cases)
    return len(suites), case_count


def make_test_case(lab, job, suite, test_set, case_index, job_failed):
    logged = job.end_time or job.start_time
    if suite.name == "lava":
        # LAVA's own action results: the job-errors page searches their metadata.
        name = LAVA_ACTION_CASES[case_index]
        failed = job_failed and name == "job"
        metadata = (f"{{case: {name}, definition: lava, result: {'fail' if failed else 'pass'}"
                    + (f", error_type: {lab.random.choice(ERROR_TYPES)}, "
                       f"error_msg: 'bootloader-commands timed out after 240 seconds'"
                       if failed else "")
                    + f", duration: '{lab.random.uniform(0.1, 300):.2f}'}}")
        return TestCase(suite=suite, name=name, result=TestCase.RESULT_FAIL if failed else TestCase.RESULT_PASS,
                        metadata=metadata, logged=logged, start_log_line=case_index * 20,
                        end_log_line=case_index * 20 + 10)
    result = lab.pick_weighted([(TestCase.RESULT_PASS, 80), (TestCase.RESULT_FAIL, 10),
                                (TestCase.RESULT_SKIP, 7), (TestCase.RESULT_UNKNOWN, 3)])
    measured = lab.random.random() < 0.15
    return TestCase(
        suite=suite, test_set=test_set, name=f"{suite.name.split('_', 1)[-1]}-case-{case_index:03d}",
        result=result, logged=logged,
        measurement=round(lab.random.uniform(0, 10000), 3) if measured else None,
        units="ms" if measured else "",
        metadata=f"{{case: case-{case_index:03d}, definition: {suite.name}, result: "
                 f"{TestCase.RESULT_REVERSE[result]}}}",
        start_log_line=100 + case_index * 5, end_log_line=100 + case_index * 5 + 4)


def write_device_files(devices, device_types):
    """Device dictionaries and health checks, read by the scheduler."""
    for index, device in enumerate(sorted(devices, key=lambda d: d.hostname)):
        File("device", device.hostname).write(
            f"{{% extends '{device.device_type_id}.jinja2' %}}\n"
            f"{{% set connection_command = 'telnet ser2net {7000 + index}' %}}\n")
    for device_type in device_types:
        File("health-check", device_type.name).write(
            job_definition(0, device_type.name, ["smoke"], "public")
            .replace("job_name:", "job_name: health-check"))


def write_manifest(path):
    """What the traffic driver needs to know about the lab, read from the database."""
    jobs = TestJob.objects.order_by("id")
    public_ids = list(TestJob.objects.filter(is_public=True).order_by("-id")
                      .values_list("id", flat=True)[:2000])
    private_ids = list(TestJob.objects.filter(is_public=False).order_by("-id")
                       .values_list("id", flat=True)[:200])
    finished_ids = list(TestJob.objects.filter(state=TestJob.STATE_FINISHED, is_public=True)
                        .order_by("-id").values_list("id", flat=True)[:2000])
    manifest = {
        "workers": [{"hostname": w.hostname, "token": w.token}
                    for w in Worker.objects.filter(health=Worker.HEALTH_ACTIVE).order_by("hostname")],
        "device_types": list(DeviceType.objects.order_by("name").values_list("name", flat=True)),
        "devices": list(Device.objects.order_by("hostname").values_list("hostname", flat=True)),
        "tags": list(Tag.objects.order_by("name").values_list("name", flat=True)),
        "users": list(User.objects.order_by("username").values_list("username", flat=True)),
        "login_users": [f"user{index:02d}" for index in range(LOGIN_USER_COUNT)],
        "ci_users": [{"username": t.user.username, "token": t.secret}
                     for t in AuthToken.objects.select_related("user").order_by("user__username")],
        "job_id_min": jobs.first().id if jobs.exists() else 0,
        "job_id_max": jobs.last().id if jobs.exists() else 0,
        "public_job_ids": public_ids,
        "private_job_ids": private_ids,
        "finished_public_job_ids": finished_ids,
        "suite_names": [f"{i}_{n}" for i in (1, 2, 3) for n in SUITE_NAMES],
    }
    with open(path, "w", encoding="utf-8") as out:
        json.dump(manifest, out, indent=1)


def analyze():
    """Fresh statistics, as a lab that has run for months has."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20000, help="number of test jobs")
    parser.add_argument("--device-types", type=int, default=30)
    parser.add_argument("--devices", type=int, default=300)
    parser.add_argument("--workers", type=int, default=12)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--manifest", required=True, help="where to write the manifest (JSON)")
    options = parser.parse_args()

    lab = Lab(options.seed, options.jobs)
    if Device.objects.exists():
        log(f"reusing the lab in the database ({TestJob.objects.count()} jobs)")
    else:
        started = time.monotonic()
        with transaction.atomic():
            users, groups = create_people(lab)
            device_types = create_device_types(lab, options.device_types)
            restrict_device_types(lab, device_types, groups)
            workers = create_workers(lab, options.workers)
            devices, tags = create_devices(lab, device_types, workers, options.devices)
            log_device_history(lab, devices, users)
            log(f"{len(device_types)} device types, {len(devices)} devices, "
                f"{len(workers)} workers, {len(users)} users")
            counts = create_jobs(lab, device_types, devices, users, groups, tags,
                                 User.objects.get(username="lava-health"))
        analyze()
        log(f"generated {counts['jobs']} jobs, {counts['suites']} suites, "
            f"{counts['cases']} test cases in {time.monotonic() - started:.0f} s")
    write_device_files(list(Device.objects.all()), list(DeviceType.objects.all()))
    write_manifest(options.manifest)
    log(f"manifest written to {options.manifest}")


if __name__ == "__main__":
    os.umask(0o022)
    main()
