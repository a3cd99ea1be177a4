#!/usr/bin/python3
"""A stand-in for the user's systemd on a private bus (limits.sh): owns
org.freedesktop.systemd1 and answers Manager.StartTransientUnit the way
systemd does for a scope: it records the properties it was given (JSON in
RECORD), "makes" the scope as a directory under ROOT/user.slice (a cgroup2
layout of the test's: the PIDs written to its cgroup.procs), answers the
job's path and then emits JobRemoved with "done". GetUnit and the unit's
ControlGroup property say where the scope is.

usage: systemd-stub.py ROOT RECORD ok|deny|fail
  deny  StartTransientUnit answers AccessDenied
  fail  the job ends "failed" (JobRemoved)
Prints "ready" on stdout once it owns the name."""
import json
import os
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

ROOT, RECORD, MODE = sys.argv[1:4]
MGR = "org.freedesktop.systemd1.Manager"


def plain(v):
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.Array, list)):
        return [plain(x) for x in v]
    if isinstance(v, (int, dbus.UInt64, dbus.UInt32)):
        return int(v)
    return str(v)


class Unit(dbus.service.Object):
    def __init__(self, bus, path, cgroup):
        super().__init__(bus, path)
        self.cgroup = cgroup

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, iface, prop):
        if iface == "org.freedesktop.systemd1.Scope" and prop == "ControlGroup":
            return dbus.String(self.cgroup, variant_level=1)
        raise dbus.exceptions.DBusException("no such property", name="org.freedesktop.DBus.Error.UnknownProperty")


class Manager(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, "/org/freedesktop/systemd1")
        self.bus = bus
        self.units = {}
        self.jobs = 0

    @dbus.service.signal(MGR, signature="uoss")
    def JobRemoved(self, id, job, unit, result):
        pass

    @dbus.service.method(MGR, in_signature="ssa(sv)a(sa(sv))", out_signature="o")
    def StartTransientUnit(self, name, mode, props, aux):
        with open(RECORD, "w") as f:
            json.dump({"name": str(name), "mode": str(mode), "props": {str(k): plain(v) for k, v in props},
                       "aux": len(aux)}, f)
        if MODE == "deny":
            raise dbus.exceptions.DBusException("Access denied (stub)", name="org.freedesktop.DBus.Error.AccessDenied")
        cgroup = "/user.slice/" + name
        d = ROOT + cgroup
        os.makedirs(d, exist_ok=True)
        with open(d + "/cgroup.procs", "w") as f:
            for pid in dict(props).get("PIDs", []):
                f.write("%d\n" % pid)
        with open(d + "/memory.events", "w") as f:
            f.write("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n")
        path = "/org/freedesktop/systemd1/unit/" + "".join(c if c.isalnum() else "_" for c in name)
        self.units[str(name)] = (path, Unit(self.bus, path, cgroup))
        self.jobs += 1
        job = "/org/freedesktop/systemd1/job/%d" % self.jobs
        jid, result = self.jobs, "failed" if MODE == "fail" else "done"
        GLib.idle_add(lambda: self.JobRemoved(jid, job, name, result) and False)
        return dbus.ObjectPath(job)

    @dbus.service.method(MGR, in_signature="s", out_signature="o")
    def GetUnit(self, name):
        if name not in self.units:
            raise dbus.exceptions.DBusException("no unit " + name, name="org.freedesktop.systemd1.NoSuchUnit")
        return dbus.ObjectPath(self.units[name][0])


DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
keep = dbus.service.BusName("org.freedesktop.systemd1", bus)
m = Manager(bus)
print("ready", flush=True)
GLib.MainLoop().run()
