"""A de-quantised GGUF causal LM can be fine-tuned (LoRA) by the Trainer."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


class GGUFMarks:
    """What transformers leaves on a model loaded with ``gguf_file=`` (its weights are plain floats)."""

    quantization_config = SimpleNamespace(quant_method="gguf")
    is_trainable = False

    def remove_quantization_config(self, model):
        from transformers.quantizers.base import HfQuantizer

        HfQuantizer.remove_quantization_config(self, model)


def test_gguf_marks_are_dropped_so_lora_training_is_allowed(tiny_models):
    from transformers import AutoModelForCausalLM
    from transformers.trainer_utils import validate_quantization_for_training

    from codistill.models.lora import LoraSettings, apply_lora
    from codistill.models.verbalizer import plain_weights

    path = tiny_models("qwen2", causal_lm=True)

    def marked():
        model = AutoModelForCausalLM.from_pretrained(path)
        model.hf_quantizer, model.is_quantized = GGUFMarks(), True
        return model

    with pytest.raises(ValueError, match="do not support training"):
        validate_quantization_for_training(apply_lora(marked(), LoraSettings(r=2), "causal_lm"))
    model = plain_weights(marked())
    assert getattr(model, "hf_quantizer", None) is None and not model.is_quantized
    validate_quantization_for_training(apply_lora(model, LoraSettings(r=2), "causal_lm"))
