"""Views of built artifacts: what `inspect`, `verify`, `diff`, `compare` and `top` report.

Each module computes typed records from modules and manifests and never prints;
``gadgetbuild.render_inspect`` turns the records into tables and ``--json`` dumps them.
"""
