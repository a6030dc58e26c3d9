"""Operating the bot: health and status endpoints (`health`), Prometheus metrics (`metrics`)
and structured logs (`logs`)."""
