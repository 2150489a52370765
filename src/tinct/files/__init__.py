"""Image files in and out, one floor below everything that reads or writes them.

- ``read``: open any supported image safely (size limit before decoding, refused formats, upright, RGB).
- ``write``: encode by format and write a file atomically, never over an existing one unless asked.
- ``atomic``: the temporary-file-fsync-rename primitive (also used for models and checkpoints).
- ``jobs``: one colorize job (input file or stdin -> output file or stdout), the one-line causes printed
  for failures; shared by ``tinct colorize`` and the Ray workers.
- ``urls``: the same at fsspec URLs (s3://, gs://, file://...), for the Ray workers: listing, reading, atomic puts.
- ``plan`` (+ ``plan_urls``, ``listing``, ``sequences``): the one planner of ``tinct colorize``: inputs -> typed
  jobs (photo, video, sequence, url) with resolved outputs; ``outputs``: the one rule every output obeys;
  ``options``: the typed options of a run; ``schemes``: the URL schemes --ray accepts.
"""
