"""Convert a GGUF chat model into a Hugging Face model folder that vLLM serves from a local path.

A standalone script: it imports only the standard library and ``transformers`` (with ``gguf``,
``accelerate`` and ``torch``), so `negoray.llm.vllm_model` runs it with whichever Python has vLLM
installed, which need not be negoray's (``NEGORAY_VLLM_PYTHON``). It writes into ``OUT``, which the
caller then renames into place; it never decides where the cache is.

    python vllm_convert.py MODEL.gguf OUT [--dtype bfloat16]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def convert(gguf: Path, out: Path, dtype: str = "bfloat16") -> None:
    """Dequantise ``gguf`` (weights, tokenizer, chat template) into ``out`` as safetensors in ``dtype``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=getattr(torch, dtype))
    # A model loaded from GGUF keeps its (dequantising) quantizer, and save_pretrained refuses it until
    # the quantizer and the config's quantization_config are gone; the weights are plain tensors by now.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    if not getattr(tokenizer, "chat_template", None):
        raise SystemExit(f"{gguf}: the GGUF file has no chat template; vLLM's chat endpoint needs one")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("gguf", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--dtype", default="bfloat16", choices=("bfloat16", "float16", "float32"))
    args = p.parse_args(argv)
    convert(args.gguf, args.out, args.dtype)
    return 0


if __name__ == "__main__":
    sys.exit(main())
