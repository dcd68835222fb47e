"""rq cron configuration: `rq cron portal.cron` enqueues the scheduler tick every 5 minutes.

The tick job runs in an rq worker started by `flask --app wsgi worker`, which provides the
application context.
"""

from rq import cron

from portal.core.scheduler import tick_job

cron.register(tick_job, "default", interval=300)
