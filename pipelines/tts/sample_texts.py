"""One short sentence per language, for checks and benchmarks of the engines (espeak-ng language codes)."""

SAMPLE_SENTENCES = {
    "en-us": "The old lighthouse keeper climbed the stairs every evening.",
    "fr-fr": "Le chat dort sur le canapé, et la pluie tombe doucement.",
    "de": "Wir fahren morgen früh mit dem Zug nach Berlin.",
    "es": "Mañana vamos a caminar por el parque con mis amigos.",
    "it": "Oggi il tempo è bello, andiamo al mare insieme.",
    "pt": "Amanhã vamos visitar os nossos avós na cidade.",
    "ru": "Завтра утром мы поедем на поезде в Москву.",
    "pl": "Jutro rano pojedziemy pociągiem do Krakowa.",
    "hi": "कल सुबह हम ट्रेन से दिल्ली जाएंगे।",
    "ja": "こんにちは、今日はとても良い天気ですね。",
    "tr": "Yarın sabah trenle İstanbul'a gideceğiz.",
    "sw": "Kesho asubuhi tutasafiri kwa treni kwenda Nairobi.",
}
