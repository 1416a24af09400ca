#!/usr/bin/env python3
"""Writes the hostile layer tars of this directory (run it to regenerate them).

Each tar tries to create, modify or follow something outside the directory it is unpacked
into. The test unpacks each into DIR/layer next to DIR/outside/victim and checks that nothing
outside DIR/layer changed (and that /tmp/berth-test-hostile-abs was not created).
"""
import io
import os
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))


def entry(name, kind=tarfile.REGTYPE, data=b"", link="", mode=0o644, pax=None):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.mtime = 1700000000
    ti.linkname = link
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    if pax:
        ti.pax_headers = pax
    return ti, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def write(name, entries):
    with tarfile.open(os.path.join(HERE, name), "w", format=tarfile.PAX_FORMAT) as t:
        for ti, f in entries:
            t.addfile(ti, f)


PWN = b"pwned\n"
SYM, HARD, DIR = tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE

write("dotdot.tar", [entry("../outside/victim", data=PWN)])
write("dotdot_nested.tar", [entry("a/", DIR, mode=0o755), entry("a/../../outside/victim", data=PWN)])
write("absolute.tar", [entry("/tmp/berth-test-hostile-abs", data=PWN)])
write("symlink_parent_abs.tar", [entry("evil", SYM, link="/tmp"),
                                 entry("evil/berth-test-hostile-abs", data=PWN)])
write("symlink_parent_rel.tar", [entry("evil", SYM, link="../outside"),
                                 entry("evil/victim", data=PWN)])
write("symlink_parent_deep.tar", [entry("d/", DIR, mode=0o755),
                                  entry("d/evil", SYM, link="../../../../../../../../outside"),
                                  entry("d/evil/victim", data=PWN)])
write("symlink_then_overwrite.tar", [entry("victim", SYM, link="../outside/victim"),
                                     entry("victim", data=PWN)])
write("dir_replaced_by_symlink.tar", [entry("d/", DIR, mode=0o755), entry("d/x", data=b"x"),
                                      entry("d", SYM, link="../outside"),
                                      entry("d/victim", data=PWN)])
write("hardlink_absolute.tar", [entry("passwd", HARD, link="/etc/passwd")])
write("hardlink_dotdot.tar", [entry("victim", HARD, link="../outside/victim")])
write("hardlink_via_symlink.tar", [entry("s", SYM, link="../outside"),
                                   entry("h", HARD, link="s/victim")])
write("hardlink_to_dir.tar", [entry("d/", DIR, mode=0o755), entry("h", HARD, link="d")])
write("whiteout_dotdot.tar", [entry("a/", DIR, mode=0o755), entry("a/.wh...", data=b"")])
write("whiteout_empty.tar", [entry(".wh.", data=b"")])
write("whiteout_parent_escape.tar", [entry("../outside/.wh.victim", data=b"")])
write("whiteout_via_symlink.tar", [entry("s", SYM, link="../outside"),
                                   entry("s/.wh.victim", data=b"")])
write("opaque_via_symlink.tar", [entry("s", SYM, link="../outside"),
                                 entry("s/.wh..wh..opq", data=b"")])
write("symlink_loop.tar", [entry("a", SYM, link="b"), entry("b", SYM, link="a"),
                           entry("a/x", data=PWN)])
write("overlay_xattr.tar", [entry("f", data=b"f",
                                  pax={"SCHILY.xattr.trusted.overlay.redirect": "/outside",
                                       "SCHILY.xattr.trusted.overlay.metacopy": "y"})])
write("device_outside.tar", [entry("../outside/dev", tarfile.CHRTYPE)])
write("long_name.tar", [entry("a/" * 2100 + "x", data=PWN)])
