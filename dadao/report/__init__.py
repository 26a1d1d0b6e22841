"""Figures and reports, made only from run directories (config.toml, trace.csv, meta.json)."""
