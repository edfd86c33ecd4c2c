"""The scene cases a caption can select, each with short descriptions the caption is
compared with (a case scores its best-matching description)."""

from __future__ import annotations

#: Case names, in display order. ``general`` is the default prior.
CASES: tuple[str, ...] = ("text", "night", "face", "general")

#: Human-readable labels for the GUI.
LABELS: dict[str, str] = {
    "text": "Text / document",
    "night": "Night / low light",
    "face": "Face / portrait",
    "general": "Natural scene",
}

DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "text": (
        "a receipt with small printed text",
        "a document or a page of a book with printed words",
        "a street sign with large letters",
        "a screenshot of text on a screen",
        "a label, poster or menu with writing and a barcode",
        "handwritten notes on paper",
    ),
    "night": (
        "a night city street with street lights and a dark sky",
        "neon signs and bright lights at night",
        "a dim low-light photo indoors by candlelight",
        "stars in the dark night sky",
        "car headlights and lamps in the dark",
    ),
    "face": (
        "a portrait photo of a person's face",
        "a close-up of a woman smiling",
        "a man looking at the camera",
        "a selfie of a person with long hair",
        "a group of people posing for a photo",
    ),
    "general": (
        "a landscape with trees, grass and sky",
        "a photo of a building or a house",
        "a close-up of fabric, fur or foliage texture",
        "an animal in nature",
        "a still life of objects on a table",
        "boats on the water by the coast",
    ),
}
