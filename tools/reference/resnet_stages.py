"""Helpers for torchvision ResNets shared by the fixture and step-benchmark scripts: the layer1..layer4
outputs as our models::ResNet::forward_features returns them, and BN statistics that keep a randomly
initialised deep ResNet's activations O(1) in eval mode."""
import torch
import torchvision


def resnet_stages(model, x):
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    outs = []
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        x = layer(x)
        outs.append(x)
    return outs


def randomise_bn(model, gen):
    """Random BN affine terms and running statistics for every BatchNorm2d of `model`, drawn from
    `gen`; only for fresh initial states."""
    blocks = (torchvision.models.resnet.BasicBlock, torchvision.models.resnet.Bottleneck)
    # The last BN of each residual branch gets a small scale so that 33 blocks of random
    # weights do not blow the activations up (logits stay O(1)-O(10)).
    last_bn = {id(b.bn3 if hasattr(b, "bn3") else b.bn2) for b in model.modules() if isinstance(b, blocks)}
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            scale = (0.1, 0.2) if id(m) in last_bn else (0.5, 0.75)
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=gen) * scale[0] + scale[1])
                m.bias.copy_(torch.rand(c, generator=gen) * 0.2 - 0.1)
                m.running_mean.copy_(torch.rand(c, generator=gen) * 0.2 - 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
