"""Signal processing shared with src/data (TypeScript): preprocessing and windowing (preprocess), events from
per-sample probabilities (postprocess), and event and sample metrics (metrics)."""
