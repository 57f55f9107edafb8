"""Who lives in the demo company: customer accounts, people's names, staff, product map.

Plain data, no Django imports, so the benchmark generator can reuse it too.
Chinese names carry their pinyin so e-mail addresses look like real ones.
"""

from __future__ import annotations

from typing import NamedTuple


class AccountSeed(NamedTuple):
    name: str
    domain: str
    chinese: bool


ACCOUNTS: tuple[AccountSeed, ...] = (
    AccountSeed("Northwind Logistics", "northwind-logistics.com", False),
    AccountSeed("Bluefin Analytics", "bluefin.io", False),
    AccountSeed("Acme Robotics", "acmerobotics.com", False),
    AccountSeed("Harbor & Pine Legal", "harborpine.law", False),
    AccountSeed("Cobalt Health", "cobalthealth.org", False),
    AccountSeed("Tidewater Foods", "tidewaterfoods.com", False),
    AccountSeed("Quarry Lane Studios", "quarrylane.studio", False),
    AccountSeed("Meridian Travel Group", "meridiantravel.co", False),
    AccountSeed("Lumen Schools", "lumenschools.edu", False),
    AccountSeed("Redwood Credit Union", "redwoodcu.org", False),
    AccountSeed("Foxglove Retail", "foxglove.shop", False),
    AccountSeed("Pioneer Freight", "pioneerfreight.com", False),
    AccountSeed("Silverline Media", "silverline.media", False),
    AccountSeed("Orchard Street Bakery", "orchardstreet.co.uk", False),
    AccountSeed("Granite Peak Outdoor", "granitepeak.com", False),
    AccountSeed("Kestrel Energy", "kestrel-energy.com", False),
    AccountSeed("Brightwave Telecom", "brightwave.net", False),
    AccountSeed("Atlas Property Management", "atlaspm.com", False),
    AccountSeed("Juniper Clinics", "juniperclinics.com", False),
    AccountSeed("Copperleaf Insurance", "copperleaf.insure", False),
    AccountSeed("Nimbus Cloudworks", "nimbuscloud.dev", False),
    AccountSeed("Sable & Co. Architects", "sableco.design", False),
    AccountSeed("Wayfarer Hostels", "wayfarerhostels.com", False),
    AccountSeed("Evergreen Nonprofit Alliance", "evergreen-alliance.org", False),
    AccountSeed("Helios Solar", "heliossolar.de", False),
    AccountSeed("Marlow Publishing", "marlowbooks.com", False),
    AccountSeed("Vantage Sports Club", "vantagesports.club", False),
    AccountSeed("Ironbridge Manufacturing", "ironbridge-mfg.com", False),
    AccountSeed("杭州云帆科技有限公司", "yunfan-tech.cn", True),
    AccountSeed("上海青禾餐饮管理有限公司", "qinghe-food.cn", True),
    AccountSeed("北京星河教育科技", "xinghe-edu.com", True),
    AccountSeed("深圳蓝鲸智能硬件", "lanjing-hw.com", True),
    AccountSeed("成都麦田文化传媒", "maitian-media.cn", True),
    AccountSeed("广州南风物流", "nanfeng-wuliu.com", True),
    AccountSeed("苏州锦绣纺织集团", "jinxiu-textile.com", True),
    AccountSeed("武汉长江医疗器械", "changjiang-med.cn", True),
    AccountSeed("南京金陵软件", "jinling-soft.com", True),
    AccountSeed("厦门海鸥旅行社", "haiou-travel.cn", True),
    AccountSeed("西安古城数据服务", "gucheng-data.cn", True),
    AccountSeed("重庆山城汽车服务", "shancheng-auto.cn", True),
    AccountSeed("青岛海岸食品", "haian-food.com", True),
    AccountSeed("天津渤海金融信息", "bohai-fin.cn", True),
    AccountSeed("宁波东方电商", "dongfang-ec.com", True),
    AccountSeed("长沙湘江文旅", "xiangjiang-trip.cn", True),
    AccountSeed("合肥量子云计算", "liangzi-cloud.cn", True),
    AccountSeed("昆明彩云花卉", "caiyun-flowers.cn", True),
    AccountSeed("郑州中原物业", "zhongyuan-wy.com", True),
    AccountSeed("大连北方船舶科技", "beifang-ship.cn", True),
)

# Accounts with more staff in the product send more tickets; these get extra contacts.
LARGE_ACCOUNT_INDEXES = frozenset({0, 1, 2, 16, 20, 28, 29, 30, 36})

FIRST_NAMES: tuple[str, ...] = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Ethan",
    "Sophia",
    "Mason",
    "Isabella",
    "Lucas",
    "Mia",
    "Logan",
    "Amelia",
    "James",
    "Harper",
    "Benjamin",
    "Evelyn",
    "Elijah",
    "Abigail",
    "Henry",
    "Emily",
    "Samuel",
    "Charlotte",
    "Daniel",
    "Grace",
    "Owen",
    "Chloe",
    "Jack",
    "Nora",
    "Leo",
    "Hannah",
    "Isaac",
    "Zoe",
    "Gabriel",
    "Lily",
    "Julian",
    "Aria",
    "Mateo",
    "Priya",
    "Arjun",
    "Fatima",
    "Omar",
    "Sven",
    "Ingrid",
    "Kenji",
    "Yuki",
    "Diego",
    "Lucia",
)
LAST_NAMES: tuple[str, ...] = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Garcia",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Jackson",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Patel",
    "Okafor",
    "Nakamura",
    "Lindqvist",
    "Fernandez",
    "Rossi",
    "Novak",
)

# (hanzi, pinyin) pairs.
ZH_SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("林", "lin"),
    ("高", "gao"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
)
ZH_GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("洋", "yang"),
    ("艳", "yan"),
    ("勇", "yong"),
    ("军", "jun"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("桂英", "guiying"),
    ("子涵", "zihan"),
    ("浩然", "haoran"),
    ("雨桐", "yutong"),
    ("梓轩", "zixuan"),
    ("欣怡", "xinyi"),
    ("宇航", "yuhang"),
    ("思远", "siyuan"),
    ("佳怡", "jiayi"),
    ("俊杰", "junjie"),
    ("晓燕", "xiaoyan"),
)

# Free-mail domains for people who write in without a company address.
FREEMAIL_DOMAINS: tuple[str, ...] = ("gmail.com", "outlook.com", "qq.com", "163.com", "yahoo.com")


class StaffSeed(NamedTuple):
    username: str
    first_name: str
    last_name: str
    role: str  # a tend.core.roles.Role value
    teams: tuple[str, ...]
    language: str
    time_zone: str
    is_away: bool = False


TEAM_SUPPORT = "Support"
TEAM_BILLING = "Billing"
TEAM_TIER2 = "Tier 2"

STAFF: tuple[StaffSeed, ...] = (
    StaffSeed("admin", "Ada", "Lovelace", "Admin", (), "en", "Europe/London"),
    StaffSeed(
        "manager",
        "Grace",
        "Hopper",
        "Manager",
        (TEAM_SUPPORT, TEAM_TIER2),
        "en",
        "America/New_York",
    ),
    StaffSeed("csm", "陈晓燕", "", "CSM", (), "zh-hans", "Asia/Shanghai"),
    StaffSeed("auditor", "Rex", "Reed", "Read-only", (), "en", "UTC"),
    StaffSeed("sam", "Sam", "Carter", "Agent", (TEAM_SUPPORT,), "en", "Europe/Dublin"),
    StaffSeed("priya", "Priya", "Natarajan", "Agent", (TEAM_SUPPORT,), "en", "Asia/Kolkata"),
    StaffSeed("liwei", "李伟", "", "Agent", (TEAM_SUPPORT,), "zh-hans", "Asia/Shanghai"),
    StaffSeed(
        "zhangmin", "张敏", "", "Agent", (TEAM_SUPPORT, TEAM_BILLING), "zh-hans", "Asia/Shanghai"
    ),
    StaffSeed(
        "diego",
        "Diego",
        "Fernandez",
        "Agent",
        (TEAM_SUPPORT,),
        "en",
        "America/Mexico_City",
        is_away=True,
    ),
    StaffSeed("hannah", "Hannah", "Schmidt", "Agent", (TEAM_BILLING,), "en", "Europe/Berlin"),
    StaffSeed("wangfang", "王芳", "", "Agent", (TEAM_BILLING,), "zh-hans", "Asia/Shanghai"),
    StaffSeed("kenji", "Kenji", "Nakamura", "Agent", (TEAM_TIER2,), "en", "Asia/Tokyo"),
    StaffSeed("olga", "Olga", "Novak", "Agent", (TEAM_TIER2,), "en", "Europe/Prague"),
)

# (name, slug, features as (name, slug))
PRODUCT_MAP: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Billing",
        "billing",
        (("Invoices", "invoices"), ("Refunds", "refunds"), ("Payment methods", "payment-methods")),
    ),
    ("Login", "login", (("SSO", "sso"), ("2FA", "2fa"), ("Password reset", "password-reset"))),
    ("Reports", "reports", (("Export", "export"), ("Dashboards", "dashboards"))),
    ("Integrations", "integrations", (("Slack", "slack"), ("Salesforce", "salesforce"))),
    ("API", "api", (("Webhooks", "webhooks"), ("Rate limits", "rate-limits"))),
    ("Mobile", "mobile", (("Sync", "sync"), ("Notifications", "notifications"))),
    (
        "Workspace",
        "workspace",
        (("Users & permissions", "users-permissions"), ("Data retention", "data-retention")),
    ),
)

TAGS: tuple[str, ...] = (
    "vip",
    "bug",
    "how-to",
    "regression",
    "feedback",
    "renewal",
    "onboarding",
    "churn-risk",
    "escalated",
    "duplicate",
    "security",
    "invoice",
    "refund",
    "sso",
    "mobile",
    "api",
    "workaround-given",
    "known-issue",
    "enterprise",
    "trial",
)

# Tags any ticket may get on top of its topic's own (which name the product area).
GENERIC_TAGS: tuple[str, ...] = (
    "bug",
    "how-to",
    "regression",
    "feedback",
    "renewal",
    "onboarding",
    "churn-risk",
    "duplicate",
    "enterprise",
    "trial",
    "workaround-given",
    "known-issue",
)
