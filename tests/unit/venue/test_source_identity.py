"""What clients store a venue's candles under: another seed or another replay file is another source."""

from __future__ import annotations

from pathlib import Path

from thebot.venue.settings import VenueConfig, source_identity


def test_seeds_and_replay_files_name_their_own_source(tmp_path: Path) -> None:
    assert source_identity(VenueConfig(seed=7)) == "sim:seed=7"
    assert source_identity(VenueConfig(seed=8)) != source_identity(VenueConfig(seed=7))
    replay = tmp_path / "BTCUSDT-1m.csv"
    replay.write_text("open_time,open,high,low,close,volume\n")
    first = source_identity(VenueConfig(replay=replay))
    assert first.startswith("sim:replay=BTCUSDT-1m.csv#") and len(first.split("#")[1]) == 12
    replay.write_text("open_time,open,high,low,close,volume\n2023-03-01,1,1,1,1,1\n")
    assert source_identity(VenueConfig(replay=replay)) != first  # same name, other prices
    assert source_identity(VenueConfig(replay=tmp_path / "missing.csv")) == "sim:replay=missing.csv"
