"""A deterministic help-center corpus for the knowledge-base search benchmark.

``articles(count, seed)`` yields ``count`` made-up help articles about a SaaS product
(billing, sign-in, reports, integrations, API, mobile, workspace), alternately English
and Simplified Chinese, as ``(locale, title, markdown)``. The text is assembled here
from the word lists below, with word frequencies skewed the way real text is (a few
words everywhere, most words rare), so searches hit tens to thousands of articles.
The Chinese lists are real words, most of two characters, so a 2-character query is a
real word a customer would type and matches the way it would in real articles.

The same seed gives the same corpus. No downloads.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

VERSION = 1  # bump when the output changes, so a reused corpus is rebuilt


def _words(text: str) -> list[str]:
    return text.split()


# --- English ------------------------------------------------------------------------

EN_NOUNS = _words("""
account invoice refund payment card subscription plan seat workspace project team member
role permission password login session token key webhook endpoint integration report
dashboard chart export import file attachment folder template field filter view column
notification email alert reminder calendar timezone language profile avatar domain
certificate browser cache cookie app device phone tablet sync backup archive trash label
tag comment note task checklist milestone deadline schedule recurrence approval workflow
rule trigger automation audit log policy retention storage quota limit usage billing
receipt tax address company contract renewal discount coupon trial upgrade downgrade
cancellation owner admin guest invitation link share embed widget form survey response
score metric goal target segment customer contact lead pipeline stage deal forecast
spreadsheet csv pdf image video upload download search result index sort page layout
theme logo brand color font printer scanner network proxy firewall vpn region server
status incident outage maintenance release version changelog roadmap feature request
sso saml oauth scim directory group department manager approver signature document
sandbox environment variable secret credential scope header payload response timeout
retry queue batch job cron report summary digest mobile desktop shortcut keyboard
""")

EN_VERBS = _words("""
set configure enable disable change update reset restore recover delete remove
archive move copy rename merge split share invite revoke rotate connect disconnect
install uninstall sync export import download upload print schedule automate approve
reject assign transfer upgrade downgrade cancel renew pause resume verify confirm test
troubleshoot fix find filter sort customise translate migrate limit unlock block allow
""")

EN_ADJECTIVES = _words("""
new old default custom shared private public daily weekly monthly annual recurring
automatic manual secure temporary permanent missing duplicate failed pending expired
invalid locked blocked slow empty large small multiple single external internal mobile
""")

EN_SYMPTOMS = [
    "does not load",
    "shows an error",
    "is missing",
    "stopped working",
    "is slow",
    "looks wrong",
    "keeps failing",
    "was charged twice",
    "cannot be found",
    "is greyed out",
]

EN_TITLES = [
    "How to {verb} {adj} {noun}",
    "How do I {verb} the {noun} for my {noun2}?",
    "{Noun} {symptom}: what to check",
    "Troubleshooting {adj} {noun} in {area}",
    "Setting up {noun} for your {noun2}",
    "Why is my {noun} {adj}?",
    "{Area}: {verb} {noun} and {noun2}",
    "Understanding {noun} {noun2} limits",
    "What happens to {noun} when you {verb} a {noun2}",
    "Best practices for {adj} {noun}",
]

EN_SENTENCES = [
    "To {verb} a {noun}, open {area} and choose {Noun} settings.",
    "If the {noun} {symptom}, check that your {noun2} is {adj} and try again.",
    "Only an admin or the {noun} owner can {verb} the {adj} {noun2}.",
    "Changes to the {noun} apply to every {noun2} in the workspace within a few minutes.",
    "You can {verb} up to {n} {noun}s at once from the {noun2} page.",
    "When you {verb} a {noun}, the {noun2} keeps its history and {noun3}s.",
    "We send a {noun} email to the {noun2} owner each time a {noun3} {symptom}.",
    "The {adj} {noun} is kept for {n} days, then it moves to the trash.",
    "Select the {noun}, then click {Verb} and confirm.",
    "Your {noun} {noun2} shows the {adj} {noun3} first.",
    "Ask your {noun} administrator to {verb} the {noun2} if the button is greyed out.",
    "This works the same on the web, the desktop app and the {adj} app.",
    "A {noun} that is {adj} cannot be used to {verb} a {noun2}.",
    "Most {noun} problems go away after you {verb} the {noun2} and sign in again.",
]

EN_AREAS = [
    "Billing",
    "Settings",
    "Reports",
    "Integrations",
    "the API console",
    "the mobile app",
    "Workspace settings",
    "Admin",
    "your profile",
    "the Security page",
]

# --- Simplified Chinese ------------------------------------------------------------

ZH_NOUNS = _words("""
账号 发票 退款 付款 银行卡 订阅 套餐 席位 工作区 项目 团队 成员 角色 权限 密码 登录
会话 令牌 密钥 接口 回调 集成 报表 仪表盘 图表 文件 附件 文件夹 模板 字段 筛选 视图
通知 邮件 提醒 日历 时区 语言 头像 域名 证书 浏览器 缓存 设备 手机 平板 备份 归档
标签 评论 备注 任务 清单 里程碑 截止日期 审批 流程 规则 触发器 自动化 日志 策略 存储
配额 用量 账单 收据 税号 抬头 地址 公司 合同 续费 折扣 优惠券 试用 负责人 管理员
访客 邀请 链接 表单 问卷 评分 指标 目标 客户 联系人 商机 阶段 预测 表格 图片 视频
搜索 结果 索引 页面 布局 主题 品牌 颜色 字体 打印机 网络 代理 防火墙 地区 服务器
状态 故障 维护 版本 功能 需求 部门 签名 文档 环境 变量 凭证 超时 队列 任务 摘要
快捷键 键盘 验证码 二维码 微信 支付宝 对公转账 余额 订单 退货 物流 库存 门店 会员
积分 工单 客服 数据 统计 分析 趋势 周报 月报 年度 预算 成本 汇率 币种 发货 单据
""")

ZH_VERBS = _words("""
设置 配置 开启 关闭 修改 更新 重置 恢复 删除 移除 归档 移动 复制 重命名 合并 拆分
共享 邀请 撤销 更换 连接 断开 安装 卸载 同步 导出 导入 下载 上传 打印 安排 审批
拒绝 分配 转移 升级 降级 取消 续订 暂停 验证 确认 测试 排查 修复 查找 筛选 排序
翻译 迁移 限制 解锁 绑定 解绑 申请 开具 查看 添加 创建 保存 提交 激活 登录
""")

ZH_ADJECTIVES = _words("""
新的 默认 自定义 共享 私有 公开 每日 每周 每月 年度 自动 手动 安全 临时 永久 缺失
重复 失败 待处理 过期 无效 锁定 较慢 空白 大量 单个 外部 内部 移动端 电脑端
""")

ZH_SYMPTOMS = [
    "无法打开",
    "显示错误",
    "不见了",
    "一直加载",
    "打开很慢",
    "数据不对",
    "重复扣费",
    "提示失败",
    "按钮是灰色的",
    "收不到",
]

ZH_TITLES = [
    "如何{verb}{noun}",
    "怎样{verb}{adj}{noun}",
    "{noun}{symptom}怎么办",
    "{area}常见问题：{noun}与{noun2}",
    "{verb}{noun}的步骤",
    "为什么我的{noun}{symptom}",
    "关于{noun}{noun2}的说明",
    "{noun}和{noun2}有什么区别",
    "{adj}{noun}的使用建议",
    "在{area}中{verb}{noun}",
]

ZH_SENTENCES = [
    "如需{verb}{noun}，请打开{area}，然后选择{noun}设置。",
    "如果{noun}{symptom}，请先检查{noun2}是否为{adj}状态，再重试一次。",
    "只有管理员或{noun}负责人可以{verb}{adj}{noun2}。",
    "对{noun}的修改会在几分钟内应用到工作区里的每个{noun2}。",
    "您可以在{noun2}页面一次{verb}最多{n}个{noun}。",
    "{verb}{noun}之后，{noun2}会保留原有的记录和{noun3}。",
    "每当{noun3}{symptom}时，我们会给{noun2}负责人发送{noun}邮件。",
    "{adj}{noun}会保留{n}天，之后移入回收站。",
    "选中{noun}，点击“{verb}”并确认即可。",
    "请联系贵公司的{noun}管理员{verb}{noun2}。",
    "网页版、电脑客户端和{adj}应用的操作方式相同。",
    "处于{adj}状态的{noun}不能用于{verb}{noun2}。",
    "大多数{noun}问题在{verb}{noun2}并重新登录后即可解决。",
    "注意：{verb}{noun}后无法撤销，请提前做好{noun2}备份。",
]

ZH_AREAS = [
    "账单中心",
    "设置页面",
    "报表中心",
    "集成市场",
    "接口控制台",
    "手机应用",
    "工作区设置",
    "管理后台",
    "个人资料",
    "安全中心",
]


def _zipf(words: Sequence[str], rng: random.Random) -> list[float]:
    """Weights ~ 1/rank over a shuffled list, so a few words are common, most rare."""
    order = list(range(len(words)))
    rng.shuffle(order)
    return [1.0 / (1 + rank) for rank in order]


class _Picker:
    def __init__(self, words: Sequence[str], rng: random.Random) -> None:
        self.words = list(words)
        self.weights = _zipf(words, rng)
        self.rng = rng

    def __call__(self) -> str:
        return self.rng.choices(self.words, weights=self.weights)[0]


def _fill(template: str, slots: dict[str, _Picker], rng: random.Random) -> str:
    values: dict[str, str] = {}
    for name in ("noun", "noun2", "noun3", "verb", "adj", "area", "symptom"):
        if "{" + name in template or "{" + name.capitalize() in template:
            word = slots[name[:4] if name.startswith("noun") else name]()
            values[name] = word
            values[name.capitalize()] = word[:1].upper() + word[1:]
    values["n"] = str(rng.choice([3, 5, 10, 20, 30, 50, 90, 100]))
    return template.format(**values)


def _article(zh: bool, rng: random.Random, slots: dict[str, _Picker]) -> tuple[str, str]:
    titles, sentences = (ZH_TITLES, ZH_SENTENCES) if zh else (EN_TITLES, EN_SENTENCES)
    title = _fill(rng.choice(titles), slots, rng)
    parts: list[str] = []
    for section in range(rng.randint(3, 6)):
        if section:
            heading = _fill(rng.choice(titles), slots, rng).rstrip("?")
            parts.append(f"## {heading}")
        paragraph = ("" if zh else " ").join(
            _fill(rng.choice(sentences), slots, rng) for _ in range(rng.randint(3, 7))
        )
        parts.append(paragraph)
        if rng.random() < 0.6:
            parts.append(
                "\n".join(
                    f"{n}. {_fill(rng.choice(sentences), slots, rng)}"
                    for n in range(1, rng.randint(3, 6))
                )
            )
        if rng.random() < 0.2:
            word = slots["noun"]()
            note = "提示" if zh else "Note"
            parts.append(f"> **{note}:** `{word}` — {_fill(rng.choice(sentences), slots, rng)}")
    if rng.random() < 0.3:
        label = "另请参阅" if zh else "See also"
        parts.append(f"{label}: [{slots['noun']()}](/help/)")
    return title[:300], "\n\n".join(parts)


def articles(count: int, *, seed: int = 5) -> Iterator[tuple[str, str, str]]:
    """``(locale, title, markdown)`` for ``count`` articles, alternating en / zh-hans."""
    rng = random.Random(seed)
    en = {
        "noun": _Picker(EN_NOUNS, rng),
        "verb": _Picker(EN_VERBS, rng),
        "adj": _Picker(EN_ADJECTIVES, rng),
        "area": _Picker(EN_AREAS, rng),
        "symptom": _Picker(EN_SYMPTOMS, rng),
    }
    zh = {
        "noun": _Picker(ZH_NOUNS, rng),
        "verb": _Picker(ZH_VERBS, rng),
        "adj": _Picker(ZH_ADJECTIVES, rng),
        "area": _Picker(ZH_AREAS, rng),
        "symptom": _Picker(ZH_SYMPTOMS, rng),
    }
    for n in range(count):
        chinese = n % 2 == 1
        title, body = _article(chinese, rng, zh if chinese else en)
        yield ("zh-hans" if chinese else "en", title, body)


# --- what the benchmark asks ------------------------------------------------------

# Help-center searches: (case, query). Frequent and rare words, both languages.
SEARCHES: list[tuple[str, str]] = [
    ("english word", "invoice"),
    ("english word", "webhook"),
    ("english word", "password"),
    ("english word", "timezone"),
    ("english word", "refund"),
    ("english word", "export"),
    ("chinese 2-char", "发票"),
    ("chinese 2-char", "退款"),
    ("chinese 2-char", "密码"),
    ("chinese 2-char", "导出"),
    ("chinese 2-char", "权限"),
    ("chinese 2-char", "同步"),
    ("multi-word", "reset password"),
    ("multi-word", "export report csv"),
    ("multi-word", "sso login error"),
    ("multi-word", "invoice tax address"),
    ("multi-word", "导出报表"),
    ("multi-word", "发票 抬头"),
    ("multi-word", "退款 银行卡"),
    ("no result", "xylophone"),
    ("no result", "琵琶"),
    ("no result", "kubernetes helm chart"),
    ("no result", "量子纠缠"),
]

# Support-form type-ahead: (subject, description) as they stand mid-typing.
SUGGESTS: list[tuple[str, str]] = [
    ("Can't log in", ""),
    ("Can't log in after password reset", "I reset my password this morning and now the pa"),
    ("Invoice shows the wrong tax num", ""),
    ("Refund for duplicate payme", ""),
    ("Export to CSV", "When I export the monthly report to csv the file is empty and the dow"),
    ("Webhook deliveries failing", "Since yesterday our webhook endpoint gets a timeout and ret"),
    ("How do I invite a new team member", ""),
    ("Mobile app does not sync", "The mobile app on my phone stopped syncing tasks with the desk"),
    ("SSO with SAML", "We want to set up single sign-on for our workspace using Okta and SCI"),
    ("Dashboard", ""),
    ("发票抬头写错了", ""),
    ("申请退款", "上个月重复扣费了，请帮忙退款到原来的银行"),
    ("导出报表", "导出的报表打开是空白的，换了浏览器也一样"),
    ("手机应用无法同步", ""),
    ("修改密码后登录失败", "修改密码以后一直提示验证码错误，无法登录工作区"),
    ("如何邀请新成员加入团队", ""),
    ("接口回调超时", "我们的服务器收不到回调，日志显示超时"),
    ("权限", ""),
]
