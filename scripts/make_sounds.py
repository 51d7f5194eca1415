"""Write the alert sounds (`assets/sounds/<type>.wav`): short sine tones, 16 kHz, 8-bit mono.

`python scripts/make_sounds.py` regenerates them; the files are committed (a few KB each) and served
locally, so the page loads no sound from anywhere else. Rising for BUY, falling for SELL, three short
beeps for WARNING, one soft note for INFO: distinguishable without looking.
"""

from __future__ import annotations

import math
import sys
import wave
from pathlib import Path

RATE = 16_000
OUT = Path(__file__).resolve().parents[1] / "assets" / "sounds"

# (frequency Hz, seconds) notes; frequency 0 is a pause
TONES: dict[str, list[tuple[float, float]]] = {
    "buy": [(660.0, 0.12), (880.0, 0.18)],
    "sell": [(880.0, 0.12), (660.0, 0.18)],
    "warning": [(520.0, 0.09), (0.0, 0.05), (520.0, 0.09), (0.0, 0.05), (520.0, 0.09)],
    "info": [(740.0, 0.16)],
}


def note(frequency: float, seconds: float, volume: float = 0.5) -> list[int]:
    count = int(RATE * seconds)
    fade = max(1, int(RATE * 0.01))  # 10 ms ramps: no click at the edges
    samples = []
    for index in range(count):
        envelope = min(1.0, index / fade, (count - 1 - index) / fade)
        value = volume * envelope * math.sin(2 * math.pi * frequency * index / RATE) if frequency else 0.0
        samples.append(128 + round(127 * value))  # unsigned 8-bit
    return samples


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, notes in TONES.items():
        samples = [sample for frequency, seconds in notes for sample in note(frequency, seconds)]
        path = OUT / f"{name}.wav"
        with wave.open(str(path), "wb") as output:
            output.setnchannels(1)
            output.setsampwidth(1)
            output.setframerate(RATE)
            output.writeframes(bytes(samples))
        print(f"{path.relative_to(OUT.parents[1])}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
