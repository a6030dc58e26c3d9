"""Operating the bot: health and status endpoints (`health`) and Prometheus metrics
(`metrics`). The log format every layer writes is `bot.logs`."""
