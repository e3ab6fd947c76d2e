"""jepa_world.data.images: labelled image datasets (digits, shapes, folder, CIFAR-10), augmentations,
I-JEPA masks and deterministic batch sources."""
