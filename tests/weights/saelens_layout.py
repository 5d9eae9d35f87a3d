#!/usr/bin/env python3
"""PyTorch's side of latent's SAELens folder tests (#24, docs/saelens.md). SAELens is not packaged for
Debian, so this script writes and checks the layout as SAELens's own source does (sae_lens 6.18.0,
jbloomAus/SAELens; the files named beside each step):

  saelens_layout.py write DIR   writes, with torch's seeded weights, SAE folders DIR/NAME/ (cfg.json and
                                sae_weights.safetensors) as these SAELens versions write them:
      topk_6_18                  TopKSAE.save_model (sae_lens/saes/sae.py: SAEConfig.to_dict, metadata from
                                 TrainingSAEConfig.from_sae_runner_config), F32
      jumprelu_6_18              JumpReLUSAE.save_model, F32, a neuronpedia_id in metadata
      jumprelu_bf16_6_18         the same SAE in bfloat16: BF16 tensors, dtype "bfloat16"
      standard_f16_6_18          StandardSAE in float16: F16 tensors
      batchtopk_checkpoint_6_18  BatchTopKTrainingSAE.save_model (a training checkpoint: every training
                                 setting, k a float, the F64 scalar buffer topk_threshold)
      standard_5_10              SAELens 5.10's flat SAEConfig.to_dict (sae_lens/sae.py at v5.11.0)
      topk_5_10                  the same with activation_fn_str "topk" and activation_fn_kwargs.k
      jumprelu_4_1               SAELens 4.1.0-4.3.2's JumpReLU training save: log_threshold, hook_point, a
                                 scaling_factor of ones (dropped when read, as SAELens drops it)
      gemma_scope/params.npz     Gemma Scope's npz (numpy.savez: W_enc, W_dec, b_enc, b_dec, threshold)
  and DIR/cases.json (what latent must read from each: architecture, sizes, settings, some metadata and
  extra keys) and DIR/NAME_expected.npz (the values as float32, topk_threshold as float64).
  test_weights's "saelens python: read" case reads them and compares.

  saelens_layout.py check DIR   checks the folders DIR/latent_{standard,topk,batchtopk,jumprelu} that
                                test_weights's "saelens python: export" case wrote, as SAELens 6.18 loads
                                them: cfg.json is strict JSON; handle_config_defaulting must see a 6.x
                                layout; the architecture must be registered (SAE.load_from_disk, or
                                TrainingSAE.load_from_disk for batchtopk); the config class's fields
                                (filter_valid_dataclass_fields) with d_in and d_sae present and every value
                                of the type the dataclass declares, dtype in DTYPE_MAP, normalize_activations
                                and reshape_activations allowed; the weights converted to dtype
                                (read_sae_components_from_disk) and loaded with load_state_dict(strict=True)
                                into a module with the class's parameters and buffers; values bit-equal to
                                latent's NAME_expected.npz; the settings latent was given. Exits 1 if any
                                check fails.

Run with Debian's /usr/bin/python3 (torch 1.13, numpy; no `safetensors` package: the format is written
and read by hand below).
"""
import json
import os
import re
import struct
import sys

import numpy as np
import torch
from torch import nn

torch.set_num_threads(1)

# sae_lens/constants.py
DTYPE_MAP = {
    "float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16,
    "torch.float32": torch.float32, "torch.float64": torch.float64, "torch.float16": torch.float16,
    "torch.bfloat16": torch.bfloat16,
}
SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16"}


# ---- safetensors by hand ----------------------------------------------------------------------------------
def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, state_dict):
    """As safetensors' serializer lays a file out: the header (no __metadata__: SAELens's save_file gets
    none), padded with spaces to 8 bytes; tensors ordered by element size (largest first), then name."""
    items = sorted(state_dict.items(), key=lambda kv: (-kv[1].element_size(), kv[0]))
    header, offset, blobs = {}, 0, []
    for name, t in items:
        b = tensor_bytes(t)
        header[name] = {"dtype": SAFETENSORS_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    """{name: tensor} (F32, F64, F16, BF16), checking what safetensors' reader checks: the header length,
    JSON, offsets that tile the data."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    assert 8 + n <= len(data), f"{path}: header length {n} beyond the file"
    header = json.loads(data[8:8 + n], object_pairs_hook=no_duplicates)
    body, out, covered = data[8 + n:], {}, []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert set(info) == {"dtype", "shape", "data_offsets"}, f"{path}: {name}: keys {sorted(info)}"
        begin, end = info["data_offsets"]
        raw = body[begin:end]
        count = int(np.prod(info["shape"], dtype=np.int64))
        if info["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<i2").copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(raw, dtype={"F32": "<f4", "F64": "<f8", "F16": "<f2"}[info["dtype"]]).copy())
        assert t.numel() == count, f"{path}: {name}: {t.numel()} values for shape {info['shape']}"
        out[name] = t.reshape(info["shape"])
        covered.append((begin, end))
    covered.sort()
    assert [b for b, _ in covered] == [0] + [e for _, e in covered[:-1]] and (not covered or covered[-1][1] == len(body)), \
        f"{path}: the tensors do not tile the data: {covered}"
    return out


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"a JSON object repeats a key: {keys}"
    return dict(pairs)


def strict_json(path):
    def refuse(name):
        raise AssertionError(f"{path}: {name} is not JSON")
    with open(path, encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=no_duplicates, parse_constant=refuse)


# ---- write: folders as SAELens writes them --------------------------------------------------------------
def weights(seed, d_in, d_sae, jumprelu=False):
    """SAELens's initialisation (SAE.initialize_weights: kaiming_uniform W_dec, W_enc its transpose), then
    biases and thresholds made non-zero so that every value is tested."""
    g = torch.Generator().manual_seed(seed)
    w_dec = (torch.rand(d_sae, d_in, generator=g) * 2 - 1) * (6 / d_in) ** 0.5
    sd = {"W_enc": w_dec.T.clone().contiguous() * 1.1, "W_dec": w_dec,
          "b_enc": torch.randn(d_sae, generator=g) * 0.1, "b_dec": torch.randn(d_in, generator=g) * 0.1}
    if jumprelu:
        sd["threshold"] = torch.rand(d_sae, generator=g) * 0.1 + 0.01
    return sd


def runner_metadata(model_name, hook_name, context_size):
    """SAEMetadata as TrainingSAEConfig.from_sae_runner_config fills it, with SAEMetadata's two versions first."""
    return {"sae_lens_version": "6.18.0", "sae_lens_training_version": "6.18.0", "model_name": model_name,
            "hook_name": hook_name, "hook_head_index": None, "context_size": context_size, "prepend_bos": True,
            "seqpos_slice": [None], "model_from_pretrained_kwargs": {}}


def base_cfg(d_in, d_sae, dtype, apply_b_dec_to_input, metadata):
    """SAEConfig's fields in their order (sae_lens/saes/sae.py)."""
    return {"d_in": d_in, "d_sae": d_sae, "dtype": dtype, "device": "cpu", "apply_b_dec_to_input": apply_b_dec_to_input,
            "normalize_activations": "none", "reshape_activations": "none", "metadata": metadata}


def case_6_18():
    """The folders SAELens 6.18 writes: (name, cfg, state_dict, expectation)."""
    out = []
    # TopKSAE (inference): TopKSAEConfig adds k and rescale_acts_by_decoder_norm; to_dict puts architecture last.
    md = runner_metadata("gpt2", "blocks.8.hook_resid_pre", 1024)
    cfg = {**base_cfg(16, 48, "float32", True, md), "k": 6, "rescale_acts_by_decoder_norm": False, "architecture": "topk"}
    out.append(("topk_6_18", cfg, weights(1, 16, 48),
                dict(architecture="topk", k=6, rescale_acts_by_decoder_norm=False, hook_name="blocks.8.hook_resid_pre",
                     metadata={"model_name": "gpt2", "seqpos_slice": [None], "sae_lens_version": "6.18.0"}, extra={})))
    # JumpReLUSAE: no extra fields; threshold in the state_dict.
    md = {**runner_metadata("gemma-2-2b", "blocks.12.hook_resid_post", 1024), "neuronpedia_id": "gemma-2-2b/12-x"}
    cfg = {**base_cfg(16, 40, "float32", False, md), "architecture": "jumprelu"}
    out.append(("jumprelu_6_18", cfg, weights(2, 16, 40, jumprelu=True),
                dict(architecture="jumprelu", apply_b_dec_to_input=False, hook_name="blocks.12.hook_resid_post",
                     metadata={"neuronpedia_id": "gemma-2-2b/12-x", "context_size": 1024}, extra={})))
    # The same kind in bfloat16: SAE.save_model saves the parameters in their dtype.
    cfg = {**base_cfg(16, 40, "bfloat16", True, runner_metadata("gpt2", "blocks.2.hook_mlp_out", 128)),
           "architecture": "jumprelu"}
    out.append(("jumprelu_bf16_6_18", cfg, {k: v.to(torch.bfloat16) for k, v in weights(3, 16, 40, True).items()},
                dict(architecture="jumprelu", dtype="bfloat16", hook_name="blocks.2.hook_mlp_out", metadata={}, extra={})))
    cfg = {**base_cfg(8, 24, "float16", True, runner_metadata("gpt2", "blocks.1.attn.hook_z", 128)),
           "architecture": "standard"}
    cfg["reshape_activations"] = "hook_z"
    out.append(("standard_f16_6_18", cfg, {k: v.to(torch.float16) for k, v in weights(4, 8, 24).items()},
                dict(architecture="standard", dtype="float16", hook_name="blocks.1.attn.hook_z", metadata={}, extra={})))
    # BatchTopKTrainingSAE.save_model: TrainingSAEConfig.to_dict = {**SAEConfig.to_dict(), **asdict(self),
    # metadata, architecture}: every training field (decoder_init_norm; TopKTrainingSAEConfig's k,
    # use_sparse_activations, aux_loss_coefficient, rescale_acts_by_decoder_norm; topk_threshold_lr), k a float.
    cfg = {**base_cfg(16, 40, "float32", True, runner_metadata("gpt2", "blocks.6.hook_resid_post", 512)),
           "decoder_init_norm": 0.1, "k": 4.0, "use_sparse_activations": False, "aux_loss_coefficient": 1.0,
           "rescale_acts_by_decoder_norm": True, "topk_threshold_lr": 0.01, "architecture": "batchtopk"}
    sd = weights(5, 16, 40)
    sd["topk_threshold"] = torch.tensor(0.123456789012345678, dtype=torch.double)  # a 0-d double buffer
    out.append(("batchtopk_checkpoint_6_18", cfg, sd,
                dict(architecture="batchtopk", k=4, rescale_acts_by_decoder_norm=True, hook_name="blocks.6.hook_resid_post",
                     metadata={}, extra={"decoder_init_norm": 0.1, "use_sparse_activations": False,
                                         "aux_loss_coefficient": 1.0, "topk_threshold_lr": 0.01})))
    return out


def v5_cfg(architecture, d_in, d_sae, activation_fn, kwargs):
    """SAELens 5.x's SAEConfig.to_dict (sae_lens/sae.py at v5.11.0), flat."""
    return {"architecture": architecture, "d_in": d_in, "d_sae": d_sae, "dtype": "float32", "device": "cpu",
            "model_name": "pythia-70m-deduped", "hook_name": "blocks.3.hook_resid_post", "hook_layer": 3,
            "hook_head_index": None, "activation_fn_str": activation_fn, "activation_fn_kwargs": kwargs,
            "apply_b_dec_to_input": True, "finetuning_scaling_factor": False, "sae_lens_training_version": "5.10.7",
            "prepend_bos": True, "dataset_path": "monology/pile-uncopyrighted", "dataset_trust_remote_code": True,
            "context_size": 128, "normalize_activations": "none", "neuronpedia_id": None,
            "model_from_pretrained_kwargs": {}, "seqpos_slice": [None]}


def case_older():
    out = []
    out.append(("standard_5_10", v5_cfg("standard", 16, 32, "relu", {}), weights(6, 16, 32),
                dict(architecture="standard", hook_name="blocks.3.hook_resid_post",
                     metadata={"model_name": "pythia-70m-deduped", "sae_lens_training_version": "5.10.7",
                               "dataset_path": "monology/pile-uncopyrighted"},
                     extra={"hook_layer": 3, "finetuning_scaling_factor": False, "dataset_trust_remote_code": True})))
    out.append(("topk_5_10", v5_cfg("topk", 16, 32, "topk", {"k": 7}), weights(7, 16, 32),
                dict(architecture="topk", k=7, rescale_acts_by_decoder_norm=False, hook_name="blocks.3.hook_resid_post",
                     metadata={}, extra={})))
    # SAELens 4.1.0-4.3.2 (sae_lens/training/training_sae.py before #373, fixed in 4.3.3): the JumpReLU
    # training SAE saved its log_threshold; the older flat names (hook_point, activation_fn) and a
    # scaling_factor of ones.
    cfg = {"architecture": "jumprelu", "d_in": 16, "d_sae": 40, "dtype": "float32", "device": "cpu",
           "model_name": "gpt2", "hook_point": "blocks.0.hook_resid_pre", "hook_point_layer": 0,
           "hook_point_head_index": None, "activation_fn": "relu", "apply_b_dec_to_input": True,
           "finetuning_scaling_factor": False, "context_size": 128, "normalize_activations": False,
           "sae_lens_training_version": "4.1.0", "jumprelu_init_threshold": 0.001, "jumprelu_bandwidth": 0.001}
    sd = weights(8, 16, 40, jumprelu=True)
    sd["log_threshold"] = torch.log(sd.pop("threshold"))
    sd["scaling_factor"] = torch.ones(40)
    out.append(("jumprelu_4_1", cfg, sd,
                dict(architecture="jumprelu", hook_name="blocks.0.hook_resid_pre", exact=False,
                     metadata={"model_name": "gpt2", "sae_lens_training_version": "4.1.0"},
                     extra={"hook_point_layer": 0, "jumprelu_bandwidth": 0.001})))
    return out


def expected_values(sd):
    """What latent must read: every tensor as float32 (F16 and BF16 convert exactly); threshold from
    log_threshold as exp in double; topk_threshold as the double it is."""
    out = {}
    for name, t in sd.items():
        if name == "scaling_factor":
            continue
        if name == "topk_threshold":
            out[name] = np.array(t.item(), dtype=np.float64)
        elif name == "log_threshold":
            out["threshold"] = np.exp(t.double().numpy()).astype(np.float32)
        else:
            out[name] = t.float().numpy().astype(np.float32)
    return out


def write(directory):
    os.makedirs(directory, exist_ok=True)
    cases = {}
    for name, cfg, sd, want in case_6_18() + case_older():
        os.makedirs(f"{directory}/{name}", exist_ok=True)
        with open(f"{directory}/{name}/cfg.json", "w") as f:
            json.dump(cfg, f)  # as SAE.save_model: json.dump's defaults (", ", ": ")
        write_safetensors(f"{directory}/{name}/sae_weights.safetensors", sd)
        np.savez(f"{directory}/{name}_expected.npz", **expected_values(sd))
        cases[name] = expectation(cfg, want)
    # Gemma Scope: params.npz of float32 arrays; SAELens's gemma_2 loader: jumprelu, apply_b_dec_to_input false.
    sd = weights(9, 16, 40, jumprelu=True)
    os.makedirs(f"{directory}/gemma_scope", exist_ok=True)
    np.savez(f"{directory}/gemma_scope/params.npz", **{k: v.numpy() for k, v in sd.items()})
    np.savez(f"{directory}/gemma_scope_expected.npz", **expected_values(sd))
    cases["gemma_scope"] = expectation({"d_in": 16, "d_sae": 40, "dtype": "float32"},
                                       dict(architecture="jumprelu", apply_b_dec_to_input=False, hook_name="",
                                            metadata={}, extra={}, gemma_npz=True))
    with open(f"{directory}/cases.json", "w") as f:
        json.dump(cases, f, indent=2)
    print(f"saelens_layout.py: wrote {len(cases)} SAEs in {directory}")


def expectation(cfg, want):
    e = {"architecture": want["architecture"], "d_in": cfg["d_in"], "d_sae": cfg["d_sae"], "k": want.get("k", 0),
         "rescale_acts_by_decoder_norm": want.get("rescale_acts_by_decoder_norm", False),
         "apply_b_dec_to_input": want.get("apply_b_dec_to_input", True), "dtype": want.get("dtype", cfg["dtype"]),
         "hook_name": want["hook_name"], "normalize_activations": "none", "metadata": want["metadata"],
         "extra": want["extra"], "exact": want.get("exact", True)}
    if want.get("gemma_npz"):
        e["gemma_npz"] = True
    return e


# ---- check: latent's folders as SAELens 6.18 loads them ---------------------------------------------------
# The config dataclasses' fields with their types (sae_lens/saes/sae.py SAEConfig, TrainingSAEConfig;
# standard_sae.py, topk_sae.py, jumprelu_sae.py, batchtopk_sae.py), for filter_valid_dataclass_fields.
SAE_FIELDS = {"d_in": int, "d_sae": int, "dtype": str, "device": str, "apply_b_dec_to_input": bool,
              "normalize_activations": str, "reshape_activations": str, "metadata": dict}
TOPK_FIELDS = {"k": int, "rescale_acts_by_decoder_norm": bool}
INFERENCE = {"standard": {}, "topk": TOPK_FIELDS, "jumprelu": {}}  # sae_lens/__init__.py: register_sae_class
TRAINING = {"batchtopk": {"decoder_init_norm": (float, type(None)), "k": (int, float), "use_sparse_activations": bool,
                          "aux_loss_coefficient": float, "rescale_acts_by_decoder_norm": bool,
                          "topk_threshold_lr": float}}  # register_sae_training_class("batchtopk", ...)


def module_for(architecture, d_in, d_sae, dtype):
    """A module with the parameters and buffers of SAELens's class (initialize_weights of sae.py and
    standard_sae.py / topk_sae.py / jumprelu_sae.py; BatchTopKTrainingSAE's topk_threshold buffer)."""
    m = nn.Module()
    m.W_enc = nn.Parameter(torch.zeros(d_in, d_sae, dtype=dtype))
    m.W_dec = nn.Parameter(torch.zeros(d_sae, d_in, dtype=dtype))
    m.b_enc = nn.Parameter(torch.zeros(d_sae, dtype=dtype))
    m.b_dec = nn.Parameter(torch.zeros(d_in, dtype=dtype))
    if architecture == "jumprelu":
        m.threshold = nn.Parameter(torch.zeros(d_sae, dtype=dtype))
    if architecture == "batchtopk":
        m.register_buffer("topk_threshold", torch.tensor(0.0, dtype=torch.double))
    return m


def major(version):
    match = re.match(r"v?(\d+)", str(version))
    return int(match.group(1)) if match else None


def check_folder(directory, architecture, failures):
    name = f"latent_{architecture}"
    path = f"{directory}/{name}"

    def fail(what):
        failures.append(f"{name}: {what}")

    cfg = strict_json(f"{path}/cfg.json")
    cfg["device"] = "cpu"  # get_sae_lens_config_from_disk: the device argument
    # handle_config_defaulting: a top-level sae_lens_version, else metadata's, must say 6.x (else the
    # pre-6.0 path would flatten and lose metadata).
    version = cfg.get("sae_lens_version") or cfg.get("metadata", {}).get("sae_lens_version")
    if not version or (major(version) or 0) < 6:
        fail(f"sae_lens_version {version!r}: SAELens would read this cfg.json as its pre-6.0 layout")
    arch = cfg.get("architecture")
    if arch != architecture:
        fail(f"architecture {arch!r}, expected {architecture!r}")
    if arch in INFERENCE:
        fields = {**SAE_FIELDS, **INFERENCE[arch]}
    elif arch in TRAINING:
        fields = {**SAE_FIELDS, "decoder_init_norm": (float, type(None)), **TRAINING[arch]}
    else:
        fail(f"architecture {arch!r}: none of SAELens's classes for latent's four (SAE: standard, topk, "
             "jumprelu; TrainingSAE: batchtopk)")
        return
    # SAEConfig.from_dict: filter_valid_dataclass_fields, then cfg_class(**fields): d_in, d_sae have no default.
    valid = {k: v for k, v in cfg.items() if k in fields}
    for required in ("d_in", "d_sae"):
        if required not in valid:
            fail(f"no {required}: the config class cannot be made")
    for key, value in valid.items():
        types = fields[key] if isinstance(fields[key], tuple) else (fields[key],)
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            fail(f"{key} = {value!r}: the dataclass declares {types}")
    if valid.get("dtype") not in DTYPE_MAP:
        fail(f"dtype {valid.get('dtype')!r} is not in DTYPE_MAP")
    if valid.get("normalize_activations", "none") not in ("none", "expected_average_only_in", "constant_norm_rescale",
                                                          "layer_norm"):
        fail(f"normalize_activations {valid.get('normalize_activations')!r}: SAEConfig.__post_init__ raises")
    if valid.get("reshape_activations", "none") not in ("none", "hook_z"):
        fail(f"reshape_activations {valid.get('reshape_activations')!r}")
    if not isinstance(cfg.get("metadata", {}), dict) or not all(isinstance(k, str) for k in cfg.get("metadata", {})):
        fail("metadata is not an object of named values (SAEMetadata(**metadata))")
    if failures:
        return

    # The settings latent was given (test_weights: "saelens python: export").
    md = cfg["metadata"]
    expect = {"d_in": 16, "d_sae": 40, "dtype": "float32", "apply_b_dec_to_input": architecture != "jumprelu",
              "normalize_activations": "none", "reshape_activations": "none", "l1_coefficient": 5.0,
              "latent_note": {"seed": [1, 2]}}
    if architecture in ("topk", "batchtopk"):
        expect.update(k=5, rescale_acts_by_decoder_norm=architecture == "batchtopk")
    for key, value in expect.items():
        if cfg.get(key) != value or type(cfg.get(key)) is not type(value):
            fail(f"{key} = {cfg.get(key)!r}, expected {value!r}")
    for key, value in {"hook_name": "blocks.3.hook_resid_post", "model_name": "gpt2", "context_size": 128,
                       "sae_lens_version": "6.0.0"}.items():
        if md.get(key) != value:
            fail(f"metadata.{key} = {md.get(key)!r}, expected {value!r}")

    # read_sae_components_from_disk: every tensor to the config's dtype; load_state_dict(strict=True).
    dtype = DTYPE_MAP[cfg["dtype"]]
    raw = read_safetensors(f"{path}/sae_weights.safetensors")
    state = {k: v.to(dtype=dtype) for k, v in raw.items()}
    module = module_for(arch, cfg["d_in"], cfg["d_sae"], dtype)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as e:
        fail(f"load_state_dict: {e}")
        return
    for k, v in raw.items():
        if v.dtype != (torch.float64 if k == "topk_threshold" else torch.float32):
            fail(f"tensor {k} is {v.dtype}, latent writes float32 (topk_threshold float64)")
    # Values: bit-equal to the values latent wrote in the .npz.
    with np.load(f"{directory}/{name}_expected.npz") as expected:
        want = {k: expected[k] for k in expected.files}
    if arch == "batchtopk":
        with np.load(f"{directory}/{name}_topk_threshold.npz") as e:
            want["topk_threshold"] = e["topk_threshold"]
    if set(want) != set(raw):
        fail(f"tensors {sorted(raw)}, expected {sorted(want)}")
    for k in want:
        got = raw[k].numpy()
        if got.shape != want[k].shape or got.dtype != want[k].dtype or got.tobytes() != want[k].tobytes():
            fail(f"tensor {k} differs from latent's values ({got.shape} {got.dtype} vs {want[k].shape} {want[k].dtype})")


def check(directory):
    failures = []
    for architecture in ("standard", "topk", "batchtopk", "jumprelu"):
        folder_failures = []
        check_folder(directory, architecture, folder_failures)
        failures += folder_failures
        print(f"saelens_layout.py: latent_{architecture}: {'ok' if not folder_failures else 'FAILED'}")
    for f in failures:
        print("  " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit(__doc__)
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2]))
