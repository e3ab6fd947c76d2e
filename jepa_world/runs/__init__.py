"""Run directories read back into objects: the trained method (load), and the evaluations of a run
directory (ssl_run, video_run).

This layer sits above presets and below cli: loading a run needs the method rebuilders of
:mod:`jepa_world.presets` and the checkpoints and logs of :mod:`jepa_world.train`, while eval/ takes
objects, not run directories (docs/architecture.md).
"""
