"""The layer1..layer4 outputs of a torchvision ResNet (the stem, then each stage), as our
models::ResNet::forward_features returns them; shared by the fixture and step-benchmark scripts."""


def resnet_stages(model, x):
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    outs = []
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        x = layer(x)
        outs.append(x)
    return outs
