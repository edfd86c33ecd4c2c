"""Optional caption tools: suggestions ("Suggest caption", ``--caption auto``), open_clip
text encoders and checked model downloads. Needs the ``[captions]`` extra
(``pip install -e ".[captions]"``: open_clip_torch, which brings torchvision).

Nothing here is imported by the engine core: ``import glow_core`` and a restoration work
without open_clip and torchvision. Import the submodules directly:

- :mod:`.captioner`: ``get_captioner``, ``find_captioner_weights``, ``install_hint``,
  ``fetch_captioner``, ``CaptionerUnavailable``;
- :mod:`.openclip`: the ``openclip:<arch>`` encoder and its weights;
- :mod:`.download`: resumable, SHA-256-checked downloads;
- :mod:`.torchvision_compat`: makes ``import torchvision`` work beside a mismatched torch.
"""
