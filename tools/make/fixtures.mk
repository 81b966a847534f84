# tools/make/fixtures.mk — the reference outputs the tests compare with, generated on demand with
# Debian's python3-torch (tools/reference/); without it the tests that need them skip and say why.

# Reference outputs of torchvision models (tools/reference/make_model_fixtures.py), made on
# demand with Debian's python3-torch; without it the model-parity tests skip and say why.
FIXTURES := $(BUILD)/fixtures
$(FIXTURES)/VERSION: tools/reference/make_model_fixtures.py tools/reference/safetensors_io.py tools/reference/resnet_stages.py
	@if /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then \
	  echo "generating model fixtures in $(FIXTURES)"; /usr/bin/python3 $< $(FIXTURES); \
	else echo "model fixtures not generated: python3-torch is missing (bash tools/install-deps.sh --torch)"; fi

# torchvision's logits for `csg predict`'s preprocessing on committed JPEG/PNG fixtures, decoded by
# PIL (tools/reference/make_predict_fixtures.py; tests/test_predict_parity.cpp).
PREDICT_FIXTURES := $(FIXTURES)/predict
$(PREDICT_FIXTURES)/VERSION: tools/reference/make_predict_fixtures.py tools/reference/safetensors_io.py \
                             tools/reference/resnet_stages.py $(wildcard data/fixtures/jpeg/*.jpg) data/fixtures/image/source.png
	@if /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then \
	  echo "generating predict fixtures in $(PREDICT_FIXTURES)"; /usr/bin/python3 $< $(PREDICT_FIXTURES) && echo 1 > $@; \
	else echo "predict fixtures not generated: python3-torch is missing (bash tools/install-deps.sh --torch)"; fi

# PyTorch's Grad-CAM of a torchvision ResNet-18 for `csg gradcam` (tools/reference/make_gradcam_fixtures.py;
# tests/test_gradcam.cpp).
GRADCAM_FIXTURES := $(FIXTURES)/gradcam
$(GRADCAM_FIXTURES)/VERSION: tools/reference/make_gradcam_fixtures.py tools/reference/safetensors_io.py \
                             tools/reference/resnet_stages.py
	@if /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then \
	  echo "generating Grad-CAM fixtures in $(GRADCAM_FIXTURES)"; /usr/bin/python3 $< $(GRADCAM_FIXTURES) && echo 1 > $@; \
	else echo "Grad-CAM fixtures not generated: python3-torch is missing (bash tools/install-deps.sh --torch)"; fi

# PyTorch's values and gradients of the Table 1 regularizers (weight-l2, feature-l2, asg-kl,
# online synaptic intelligence): tools/reference/make_regularizer_fixtures.py, read by
# tests/test_regularizers.cpp, which skips and says why when python3-torch is missing.
REG_FIXTURES := $(FIXTURES)/regularizers
$(REG_FIXTURES)/VERSION: tools/reference/make_regularizer_fixtures.py tools/reference/safetensors_io.py
	@if /usr/bin/python3 -c 'import torch' 2>/dev/null; then \
	  echo "generating regularizer fixtures in $(REG_FIXTURES)"; /usr/bin/python3 $< $(REG_FIXTURES); \
	else echo "regularizer fixtures not generated: python3-torch is missing (bash tools/install-deps.sh --torch)"; fi

# Step-parity fixtures: csg_step_torch.py takes a few steps of small models from a fresh state and
# writes that state, its inputs and its losses and final weights; tests/test_step_bench_parity.cpp
# runs our step from the same state on the same inputs. Without python3-torch the test skips.
STEP_FIXTURES := $(FIXTURES)/csg_step
STEP_PARITY_visda := --task visda --arch resnet18 --image-size 64 --batch 4 --queue-size 256 --steps 4 --lr 0.01 --key-noise 0.1
STEP_PARITY_gta5  := --task gta5 --arch deeplab18 --image-size 64 --batch 2 --queue-size 512 --steps 3 --key-noise 0.1
# The default head (the reference's ASPP): BN on batch statistics and dropout with csg's masks.
STEP_PARITY_gta5_csg := $(STEP_PARITY_gta5) --seg-head aspp-csg --dropout-seed 7
STEP_FIXTURE_VERSION := 2
# The script and what it imports: every step fixture is remade when one of them changes.
STEP_SCRIPT := tools/reference/csg_step_torch.py tools/reference/safetensors_io.py tools/reference/resnet_stages.py
# A VERSION file of another version (fixtures of an older script) is remade too.
.PHONY: step-fixtures-stale
$(STEP_FIXTURES)/VERSION: $(STEP_SCRIPT) \
    $(if $(filter $(STEP_FIXTURE_VERSION),$(shell cat $(STEP_FIXTURES)/VERSION 2>/dev/null)),,step-fixtures-stale)
	@if /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then \
	  echo "generating step-parity fixtures in $(STEP_FIXTURES)"; mkdir -p $(STEP_FIXTURES); \
	  for t in visda gta5 gta5_csg; do \
	    case $$t in visda) args="$(STEP_PARITY_visda)";; gta5) args="$(STEP_PARITY_gta5)";; *) args="$(STEP_PARITY_gta5_csg)";; esac; \
	    /usr/bin/python3 $< $$args --write-init $(STEP_FIXTURES)/$${t}_init.safetensors \
	      --write-inputs $(STEP_FIXTURES)/$${t}_inputs.safetensors --dump $(STEP_FIXTURES)/$${t}_result.safetensors \
	      || exit 1; \
	  done; echo $(STEP_FIXTURE_VERSION) > $@; \
	else rm -f $(STEP_FIXTURES)/*.safetensors; \
	  echo "step-parity fixtures not generated: python3-torch is missing (bash tools/install-deps.sh --torch)"; fi

test: $(STEP_FIXTURES)/VERSION

# float64: each f32 fixture's steps again in float64 from the same state and inputs. Where a
# pre-activation lies within f32 rounding of zero, two f32 steps may take either side of it;
# the float64 step shows the other side (StepBenchParity accepts a tensor near either run).
$(STEP_FIXTURES)/%_result_f64.safetensors: $(STEP_SCRIPT) $(STEP_FIXTURES)/VERSION
	@if [ -f $(STEP_FIXTURES)/$*_init.safetensors ] && /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then \
	  echo "generating the float64 step-parity fixture $@"; \
	  /usr/bin/python3 $< $(STEP_PARITY_$*) --precision fp64 --init $(STEP_FIXTURES)/$*_init.safetensors \
	    --inputs $(STEP_FIXTURES)/$*_inputs.safetensors --dump $@ || exit 1; fi

test: $(foreach t,visda gta5 gta5_csg,$(STEP_FIXTURES)/$(t)_result_f64.safetensors)

# BF16: the VisDA model from visda_init, 20 steps under torch.autocast(bfloat16) with f32 master
# weights (StepBenchParity.VisdaResNet18Bf16TracksAutocastOver20Steps). A target of its own, so that
# fixtures of this version made before it get it too; remade with the others.
STEP_PARITY_visda_bf16 := $(STEP_PARITY_visda) --steps 20 --precision bf16
$(STEP_FIXTURES)/visda_bf16_result.safetensors: $(STEP_SCRIPT) $(STEP_FIXTURES)/VERSION
	@if [ -f $(STEP_FIXTURES)/visda_init.safetensors ] && /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then \
	  echo "generating the BF16 step-parity fixture $@"; \
	  /usr/bin/python3 $< $(STEP_PARITY_visda_bf16) --init $(STEP_FIXTURES)/visda_init.safetensors \
	    --write-inputs $(STEP_FIXTURES)/visda_bf16_inputs.safetensors --dump $@ || exit 1; fi

test: $(STEP_FIXTURES)/visda_bf16_result.safetensors
