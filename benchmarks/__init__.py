"""The performance benchmark: ``python -m benchmarks.run [--quick]`` (see BENCHMARKS.md).

Not part of the test suite: it runs the real client, assets and IO managers at scale against the
demo tenant (served from a child process) and prints one table with the targets.
"""
