from bench.tts import lipsync_meter, tts_utterance, speaker
from pipelines.train.speech import HELD_OUT_SENTENCES, speak
from pipelines.tts import EspeakEngine, load_piper_engine, synthesize
from pipelines.train.speech import Utterance
import torch, bench.tts as bt
corr = lipsync_meter(60, 10)
text = HELD_OUT_SENTENCES["en"]
def eng(engine):
    s = synthesize(engine, text); return Utterance(s.wave, s.sample_rate, "x", text)
rows = {"training": lambda: speak(text, "en"), "espeak175": lambda: eng(EspeakEngine("en-us")),
        "espeak160": lambda: eng(EspeakEngine("en-us", speed=160/175)), "espeak_en160": lambda: eng(EspeakEngine("en", speed=160/175)),
        "piper1.0": lambda: eng(load_piper_engine(bt.PIPER_VOICE)), "piper0.8": lambda: eng(load_piper_engine(bt.PIPER_VOICE, 0.8))}
for name, make in rows.items():
    u = make()
    vals = [round(corr(u, i), 3) for i in range(3)]
    print(name, f"{u.wave.shape[0]/u.sample_rate:.2f}s", vals, round(sum(vals)/3, 3), flush=True)
