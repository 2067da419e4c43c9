"""The 30 ImageNet VID classes, in the order of their category ids 1..30.

Each entry is ``(name, WordNet id)``. ImageNet DET images of any other
WordNet id go to category 31 in ``imagenet_det_30plus1cls.json``.
"""

VID_CLASSES = (
    ('airplane', 'n02691156'), ('antelope', 'n02419796'),
    ('bear', 'n02131653'), ('bicycle', 'n02834778'),
    ('bird', 'n01503061'), ('bus', 'n02924116'),
    ('car', 'n02958343'), ('cattle', 'n02402425'),
    ('dog', 'n02084071'), ('domestic_cat', 'n02121808'),
    ('elephant', 'n02503517'), ('fox', 'n02118333'),
    ('giant_panda', 'n02510455'), ('hamster', 'n02342885'),
    ('horse', 'n02374451'), ('lion', 'n02129165'),
    ('lizard', 'n01674464'), ('monkey', 'n02484322'),
    ('motorcycle', 'n03790512'), ('rabbit', 'n02324045'),
    ('red_panda', 'n02509815'), ('sheep', 'n02411705'),
    ('snake', 'n01726692'), ('squirrel', 'n02355227'),
    ('tiger', 'n02129604'), ('train', 'n04468005'),
    ('turtle', 'n01662784'), ('watercraft', 'n04530566'),
    ('whale', 'n02062744'), ('zebra', 'n02391049'),
)

#: WordNet id -> category id (1..30).
CATEGORY_IDS = {wnid: i for i, (_, wnid) in enumerate(VID_CLASSES, 1)}

#: Category id of every DET object outside the 30 VID classes. Its name is
#: spelled as in mmtracking's json files, so the files compare equal.
OTHER_CATEGORY_ID = len(VID_CLASSES) + 1
OTHER_CATEGORY_NAME = 'other_categeries'


def vid_categories() -> list:
    """The ``categories`` field of the VID json files (ids 1..30)."""
    return [dict(id=i, name=name, encode_name=wnid)
            for i, (name, wnid) in enumerate(VID_CLASSES, 1)]


def det_categories() -> list:
    """The ``categories`` field of the DET json (ids 1..31)."""
    return vid_categories() + [
        dict(id=OTHER_CATEGORY_ID, name=OTHER_CATEGORY_NAME, encode_name=None)
    ]
