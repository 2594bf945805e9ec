#!/usr/bin/python3
"""Makes a folder that looks like a user's photo folder from CIFAR-10 class folders (issue 12's test set).

Every image is upscaled (bicubic) to a random size of MIN_MP to MAX_MP megapixels with a random orientation and
aspect ratio (4:3, 3:2, 16:9 or 1:1, portrait or landscape), gets mild Gaussian sensor noise, and is saved as a
JPEG at a random quality in 85-95. With --cameras N the sizes come from N "cameras" instead (N fixed sizes drawn the
same way, each photo taking one of them), as a folder of real photos does; without it every photo has its own size.
With --bad, the hostile inputs of issue 12 are added to the first class folder.

With --size WxH every photo has that size instead (one camera's folder).

Usage: make-photo-folder.py CIFAR_SPLIT_DIR OUT_DIR [--per-class N] [--classes N] [--min-mp 1] [--max-mp 4] [--size WxH]
                             [--cameras N] [--seed 0] [--bad]
Needs python3-pil and python3-numpy (Debian packages).
"""
import argparse
import os
import random
import sys

import numpy as np
from PIL import Image


def random_size(rng, min_mp, max_mp):
    ratio = rng.choice([(4, 3), (3, 2), (16, 9), (1, 1)])
    if rng.random() < 0.5:
        ratio = (ratio[1], ratio[0])
    pixels = rng.uniform(min_mp, max_mp) * 1e6
    width = int(round((pixels * ratio[0] / ratio[1]) ** 0.5))
    return width, int(round(pixels / width))


def photo(source, rng, min_mp, max_mp, size=None):
    width, height = size or random_size(rng, min_mp, max_mp)
    image = Image.open(source).convert("RGB").resize((width, height), Image.BICUBIC)
    array = np.asarray(image, dtype=np.float32)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0.0, 2.0, array.shape)
    return Image.fromarray(np.clip(array + noise, 0, 255).round().astype(np.uint8))


def add_bad_inputs(folder, sample):
    """The per-file failures a photo folder holds in practice; each must be a per-file error or be protected."""
    open(os.path.join(folder, "empty.jpg"), "wb").close()
    data = open(sample, "rb").read()
    open(os.path.join(folder, "truncated.jpg"), "wb").write(data[: len(data) // 3])
    open(os.path.join(folder, "notes.jpg"), "w").write("this is a text file with an image extension\n")
    Image.new("RGB", (100000, 1), (120, 30, 200)).save(os.path.join(folder, "strip-100000x1.png"))
    Image.new("L", (640, 480), 90).save(os.path.join(folder, "grayscale.png"))
    Image.new("RGB", (800, 600), (10, 200, 30)).save(os.path.join(folder, "cmyk.jpg"))
    Image.open(os.path.join(folder, "cmyk.jpg")).convert("CMYK").save(os.path.join(folder, "cmyk.jpg"), quality=90)
    os.symlink("/etc/hostname", os.path.join(folder, "link-out.jpg"))
    os.symlink("loop.jpg", os.path.join(folder, "loop.jpg"))
    os.mkdir(os.path.join(folder, "folder.jpg"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("out")
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument("--min-mp", type=float, default=1.0)
    parser.add_argument("--max-mp", type=float, default=4.0)
    parser.add_argument("--size", help="WxH: every photo this size")
    parser.add_argument("--classes", type=int, default=0, help="only the first N classes (0: all)")
    parser.add_argument("--cameras", type=int, default=0, help="draw every photo's size from N fixed sizes (0: each its own)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bad", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    classes = sorted(d for d in os.listdir(args.source) if os.path.isdir(os.path.join(args.source, d)))
    if args.classes:
        classes = classes[: args.classes]
    size = tuple(int(v) for v in args.size.split("x")) if args.size else None
    cameras = [random_size(rng, args.min_mp, args.max_mp) for _ in range(args.cameras)]
    for name in classes:
        os.makedirs(os.path.join(args.out, name), exist_ok=True)
        files = sorted(os.listdir(os.path.join(args.source, name)))[: args.per_class]
        for f in files:
            image = photo(os.path.join(args.source, name, f), rng, args.min_mp, args.max_mp, size or (rng.choice(cameras) if cameras else None))
            image.save(os.path.join(args.out, name, os.path.splitext(f)[0] + ".jpg"), quality=rng.randint(85, 95))
    if args.bad:
        first = classes[0]
        add_bad_inputs(os.path.join(args.out, first), os.path.join(args.out, first, sorted(os.listdir(os.path.join(args.out, first)))[0]))
    what = f"{size[0]}x{size[1]}" if size else f"{args.min_mp}-{args.max_mp} MP" + (f" from {len(cameras)} camera sizes" if cameras else "")
    print(f"{args.out}: {len(classes)} classes x {args.per_class} photos of {what}" + (" plus bad inputs" if args.bad else ""))


if __name__ == "__main__":
    sys.exit(main())
