"""Builds LAVA's static folder for an unpacked (not installed) lava-server.

The package's static files are relative links into the Python packages and
/usr/share/javascript, which do not resolve inside the unpacked tree, and
WhiteNoise refuses to start on a broken link. This mirrors the tree with one
absolute link per file, each pointing where the file exists: in the
unpacked tree or, failing that, in the system (the libjs-* packages).
Entries found in neither place are left out.

usage: link_static_files.py PACKAGE_ROOT DESTINATION
"""

import os
import sys


def existing_target(path, package_root):
    target = os.path.realpath(path)
    if os.path.exists(target):
        return target
    if target.startswith(package_root + os.sep):
        system_target = os.path.realpath(target[len(package_root):])
        if os.path.exists(system_target):
            return system_target
    return None


def mirror(source, destination, package_root):
    target = existing_target(source, package_root)
    if target is None:
        return 0
    if os.path.isdir(target):
        os.makedirs(destination, exist_ok=True)
        return sum(
            mirror(os.path.join(target, name), os.path.join(destination, name), package_root)
            for name in sorted(os.listdir(target))
        )
    os.symlink(target, destination)
    return 1


def main():
    package_root, destination = (os.path.realpath(a) for a in sys.argv[1:3])
    source = os.path.join(package_root, "usr/share/lava-server/static")
    linked = mirror(source, destination, package_root)
    print(f"linked {linked} static files into {destination}")


if __name__ == "__main__":
    main()
