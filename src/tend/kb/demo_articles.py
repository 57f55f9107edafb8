"""The demo help center's content: categories, sections and articles about the demo
company's product (billing, sign-in, reports, integrations, API, mobile app, workspace),
in English with a Chinese version for most.

Plain data, no Django imports. ``area``/``feature`` are the desk's product-map slugs
(tend.demo.names.PRODUCT_MAP), so "worth writing" can see which ticket topics have an
article; Salesforce, API rate limits and data retention deliberately have none.
"""

from __future__ import annotations

from typing import NamedTuple


class CategorySeed(NamedTuple):
    slug: str
    name: str
    name_zh: str
    description: str
    description_zh: str
    sections: tuple[tuple[str, str, str], ...]  # (slug, name, name_zh)


class ArticleSeed(NamedTuple):
    slug: str
    category: str
    section: str
    area: str
    feature: str
    tags: tuple[str, ...]
    title: str
    body: str
    title_zh: str = ""
    body_zh: str = ""
    zh_draft: bool = False  # the Chinese version is still being written


CATEGORIES: tuple[CategorySeed, ...] = (
    CategorySeed(
        "billing",
        "Account & billing",
        "账户与账单",
        "Invoices, payments, refunds and plans.",
        "发票、付款、退款与套餐。",
        (
            ("invoices-payments", "Invoices & payments", "发票与付款"),
            ("refunds-plans", "Refunds & plans", "退款与套餐"),
        ),
    ),
    CategorySeed(
        "sign-in",
        "Signing in & security",
        "登录与安全",
        "Single sign-on, passwords and two-factor authentication.",
        "单点登录、密码与两步验证。",
        (
            ("single-sign-on", "Single sign-on", "单点登录"),
            ("passwords-2fa", "Passwords & two-factor", "密码与两步验证"),
        ),
    ),
    CategorySeed(
        "reports-integrations",
        "Reports & integrations",
        "报表与集成",
        "Exports, dashboards, Slack, the API and webhooks.",
        "导出、仪表盘、Slack、接口与回调。",
        (
            ("reports-dashboards", "Reports & dashboards", "报表与仪表盘"),
            ("integrations", "Integrations", "集成"),
            ("api-webhooks", "API & webhooks", "接口与回调"),
        ),
    ),
    CategorySeed(
        "mobile-workspace",
        "Mobile app & workspace",
        "手机应用与工作区",
        "The mobile app, inviting people and permissions.",
        "手机应用、邀请成员与权限。",
        (
            ("mobile-app", "Mobile app", "手机应用"),
            ("users-permissions", "Users & permissions", "成员与权限"),
        ),
    ),
)


ARTICLES: tuple[ArticleSeed, ...] = (
    ArticleSeed(
        "download-invoices",
        "billing",
        "invoices-payments",
        "billing",
        "invoices",
        ("invoice",),
        "Download your invoices",
        """Every invoice is a PDF you can download at any time.

1. Go to **Settings → Billing → Invoices**.
2. Find the month you need; use the year filter for older invoices.
3. Click **Download PDF**.

Only workspace owners and billing admins see this page. If you need invoices sent to
your finance team automatically, add their address under **Billing contacts**.""",
        "下载发票",
        """每张发票都可以随时下载 PDF。

1. 打开 **设置 → 账单 → 发票**。
2. 找到需要的月份；更早的发票可以用年份筛选。
3. 点击 **下载 PDF**。

只有工作区所有者和账单管理员能看到此页面。如需把发票自动发给财务，请在 **账单联系人** 中添加他们的邮箱。""",
    ),
    ArticleSeed(
        "change-invoice-details",
        "billing",
        "invoices-payments",
        "billing",
        "invoices",
        ("invoice",),
        "Change the company name, address or VAT number on invoices",
        """Invoices use the details in your billing profile at the moment they are issued.

1. Open **Settings → Billing → Billing profile**.
2. Edit the company name, address or VAT number and save.

New invoices use the new details. To correct an invoice that was already issued,
[contact support](/support/) with the invoice number: we reissue it and send a credit
note for the old one.""",
        "修改发票抬头、地址或税号",
        """发票使用开具时账单资料中的信息。

1. 打开 **设置 → 账单 → 账单资料**。
2. 修改公司名称（抬头）、地址或税号并保存。

之后开具的发票会使用新信息。已经开具的发票如需更正，请带上发票号 [联系客服](/support/)，我们会重开发票并为原发票开具红字冲销。""",
    ),
    ArticleSeed(
        "vat-special-invoice",
        "billing",
        "invoices-payments",
        "billing",
        "invoices",
        ("invoice",),
        "Request a VAT special invoice (China)",
        """Customers in mainland China can receive a VAT special invoice (增值税专用发票)
instead of an ordinary invoice.

Send us your company name, taxpayer ID, registered address and phone, bank and account
number through the [support form](/support/). Special invoices are issued within five
working days of payment and sent as an electronic invoice to your billing contact.""",
        "申请增值税专用发票",
        """中国大陆客户可以申请增值税专用发票，代替普通发票。

请通过 [工单表单](/support/) 提供：公司名称、纳税人识别号、注册地址及电话、开户行及账号。专票会在付款后五个工作日内开具，并以电子发票形式发送给账单联系人。""",
    ),
    ArticleSeed(
        "update-payment-card",
        "billing",
        "invoices-payments",
        "billing",
        "payment-methods",
        (),
        "Update the card we charge",
        """1. Open **Settings → Billing → Payment method**.
2. Click **Replace card** and enter the new card.

The next renewal is charged to the new card. If a payment failed recently, we retry it
on the new card within an hour.""",
        "更换付款银行卡",
        """1. 打开 **设置 → 账单 → 付款方式**。
2. 点击 **更换银行卡**，填写新卡信息。

下次续费将从新卡扣款。如果最近有付款失败，我们会在一小时内用新卡重新扣款。""",
    ),
    ArticleSeed(
        "pay-by-bank-transfer",
        "billing",
        "invoices-payments",
        "billing",
        "payment-methods",
        (),
        "Pay by bank transfer",
        """Annual plans can be paid by bank transfer. Choose **Pay by invoice** at checkout;
the invoice shows our bank details and a payment reference.

Please put the reference in the transfer so we can match it. Transfers usually arrive
in two to four working days; your plan stays active meanwhile.""",
        "对公转账付款",
        """年付套餐支持对公转账。结账时选择 **按发票付款**，发票上有我们的收款账户和付款备注号。

转账时请填写备注号，方便我们核对。到账一般需要二至四个工作日，期间您的套餐保持正常使用。""",
    ),
    ArticleSeed(
        "failed-payment",
        "billing",
        "invoices-payments",
        "billing",
        "payment-methods",
        (),
        "What happens when a payment fails",
        """When a renewal payment fails we email the billing contacts and retry three times
over seven days. Nothing changes for your users during that time.

If all retries fail, the workspace becomes read-only until the invoice is paid.
[Update your card](/help/articles/update-payment-card/) to retry straight away.""",
        "付款失败会怎样",
        """续费扣款失败时，我们会邮件通知账单联系人，并在七天内重试三次，期间成员的使用不受影响。

如果三次都失败，工作区会变为只读，直到发票付清。[更换银行卡](/help/articles/update-payment-card/) 后会立即重试。""",
    ),
    ArticleSeed(
        "refund-policy",
        "billing",
        "refunds-plans",
        "billing",
        "refunds",
        ("refund",),
        "Refunds: what we refund and how long it takes",
        """- Annual plans cancelled within 30 days of payment are refunded in full.
- Seats removed mid-term are credited to your next invoice, not refunded.
- Duplicate charges are always refunded.

Refunds go back to the original payment method. Card refunds take 5–10 working days to
appear; bank transfers take up to 15.""",
        "退款政策与到账时间",
        """- 年付套餐在付款后 30 天内取消，可全额退款。
- 合同期内减少的席位会抵扣下一张发票，不退现金。
- 重复扣费一律退款。

退款原路返回。银行卡退款 5–10 个工作日到账；对公转账最长 15 个工作日。""",
    ),
    ArticleSeed(
        "duplicate-charge",
        "billing",
        "refunds-plans",
        "billing",
        "refunds",
        ("refund", "invoice"),
        "I was charged twice",
        """A second charge usually comes from a payment retried after a timeout. Check
**Settings → Billing → Invoices**: if two paid invoices cover the same period,
[contact support](/support/) with both invoice numbers and we refund the duplicate the
same day.

A pending authorisation that disappears after a few days is not a charge.""",
        "重复扣费怎么办",
        """重复扣费通常是支付超时后自动重试造成的。请在 **设置 → 账单 → 发票** 中查看：如果同一期间有两张已付发票，请带上两个发票号 [联系客服](/support/)，我们当天为您退回重复的款项。

几天后自动消失的预授权不属于扣费。""",
    ),
    ArticleSeed(
        "change-plan",
        "billing",
        "refunds-plans",
        "billing",
        "invoices",
        ("renewal",),
        "Upgrade or downgrade your plan",
        """Open **Settings → Billing → Plan** and choose the new plan.

- **Upgrades** start immediately; you pay the difference for the rest of the term.
- **Downgrades** start at the next renewal, so nobody loses features mid-term.""",
        "升级或降级套餐",
        """打开 **设置 → 账单 → 套餐**，选择新的套餐。

- **升级** 立即生效，按剩余合同期补差价。
- **降级** 在下次续费时生效，合同期内功能不受影响。""",
    ),
    ArticleSeed(
        "add-seats",
        "billing",
        "refunds-plans",
        "workspace",
        "users-permissions",
        ("renewal",),
        "Add or remove seats",
        """Each active member uses one seat. Add seats under **Settings → Billing → Seats**;
they are billed pro rata. Removing a member frees their seat for someone else;
lowering the seat count takes effect at renewal.""",
    ),
    ArticleSeed(
        "sso-saml-setup",
        "sign-in",
        "single-sign-on",
        "login",
        "sso",
        ("sso", "security"),
        "Set up single sign-on with SAML",
        """Single sign-on is available on the Business and Enterprise plans.

1. In **Settings → Security → Single sign-on**, copy the *ACS URL* and *Entity ID*.
2. Create a SAML app in your identity provider with those values.
3. Paste the provider's metadata URL back into the app and click **Test**.
4. When the test passes, turn on **Require SSO**.

Keep one owner able to sign in with a password until you have tested with a second
account.""",
        "配置 SAML 单点登录",
        """单点登录适用于商业版和企业版套餐。

1. 在 **设置 → 安全 → 单点登录** 中复制 *ACS URL* 和 *Entity ID*。
2. 在身份提供商中用这两个值创建 SAML 应用。
3. 把身份提供商的元数据地址粘贴回来，点击 **测试**。
4. 测试通过后，开启 **强制单点登录**。

在用第二个账号测试成功之前，请保留一位可以用密码登录的所有者。""",
    ),
    ArticleSeed(
        "sso-okta",
        "sign-in",
        "single-sign-on",
        "login",
        "sso",
        ("sso",),
        "Single sign-on with Okta",
        """In Okta, add an app from the catalogue, search for us, and paste the metadata URL
from **Settings → Security → Single sign-on**. Assign the app to the groups that should
have access. With SCIM turned on, people removed in Okta lose access within minutes.""",
    ),
    ArticleSeed(
        "sso-troubleshooting",
        "sign-in",
        "single-sign-on",
        "login",
        "sso",
        ("sso",),
        "SSO sign-in errors and how to fix them",
        """- **"Invalid signature"**: your provider's certificate changed. Upload the new
  metadata.
- **"User not assigned"**: assign the person to the app in your identity provider.
- **A redirect loop**: clear cookies for our domain, or try a private window.
- **Clock skew**: the assertion is only valid for 5 minutes; check the server time of
  self-hosted providers.""",
        "单点登录报错排查",
        """- **“签名无效”**：身份提供商的证书已更换，请重新上传元数据。
- **“用户未分配”**：请在身份提供商中把此人分配到应用。
- **反复跳转**：清除我们域名的 Cookie，或使用无痕窗口。
- **时间偏差**：断言只在 5 分钟内有效，请检查自建身份提供商的服务器时间。""",
    ),
    ArticleSeed(
        "two-factor-setup",
        "sign-in",
        "passwords-2fa",
        "login",
        "2fa",
        ("security",),
        "Turn on two-factor authentication",
        """1. Open **Profile → Security** and click **Turn on two-factor**.
2. Scan the QR code with an authenticator app.
3. Enter the 6-digit code and save your recovery codes somewhere safe.

Admins can require two-factor for everyone under **Settings → Security**.""",
        "开启两步验证",
        """1. 打开 **个人资料 → 安全**，点击 **开启两步验证**。
2. 用身份验证器应用扫描二维码。
3. 输入 6 位验证码，并把恢复码保存在安全的地方。

管理员可以在 **设置 → 安全** 中要求所有成员开启两步验证。""",
    ),
    ArticleSeed(
        "lost-2fa-device",
        "sign-in",
        "passwords-2fa",
        "login",
        "2fa",
        ("security",),
        "Lost your phone? Sign in without your 2FA device",
        """Use one of the recovery codes you saved when you turned on two-factor: each works
once. No codes left? Ask a workspace admin to reset two-factor for you under
**Settings → Members**. For the last owner of a workspace, support verifies your identity
before resetting it.""",
        "手机丢失后如何登录",
        """请使用开启两步验证时保存的恢复码，每个恢复码只能用一次。没有恢复码了？请工作区管理员在 **设置 → 成员** 中为您重置两步验证。如果您是工作区唯一的所有者，客服会先核实身份再为您重置。""",
    ),
    ArticleSeed(
        "reset-password",
        "sign-in",
        "passwords-2fa",
        "login",
        "password-reset",
        (),
        "Reset your password",
        """On the sign-in page click **Forgot password?**, enter your email and follow the
link we send. The link works for one hour and only once.

If your workspace uses single sign-on, reset the password with your identity provider
instead.""",
        "重置密码",
        """在登录页点击 **忘记密码？**，输入邮箱并打开我们发送的链接。链接一小时内有效，且只能使用一次。

如果工作区使用单点登录，请到身份提供商那里重置密码。""",
    ),
    ArticleSeed(
        "reset-email-missing",
        "sign-in",
        "passwords-2fa",
        "login",
        "password-reset",
        (),
        "The password reset email does not arrive",
        """- Check spam and any quarantine your company uses.
- Make sure you typed the address you signed up with.
- Ask IT to allow mail from our domain.
- Wait five minutes before asking again: each new request voids the previous link.""",
        "收不到重置密码邮件",
        """- 请检查垃圾邮件箱以及公司邮件隔离区。
- 确认输入的是注册时使用的邮箱。
- 请 IT 部门把我们的域名加入白名单。
- 请等五分钟再重新申请：每次新申请都会使上一封邮件的链接失效。""",
    ),
    ArticleSeed(
        "export-report-csv",
        "reports-integrations",
        "reports-dashboards",
        "reports",
        "export",
        (),
        "Export a report to CSV or Excel",
        """Open the report, click **Export** and choose CSV or Excel. Exports include the
filters and columns you see. Files over 50,000 rows are prepared in the background and
emailed to you as a link that works for 7 days.""",
        "将报表导出为 CSV 或 Excel",
        """打开报表，点击 **导出**，选择 CSV 或 Excel。导出内容与当前的筛选条件和列一致。超过 50,000 行的文件会在后台生成，并以邮件链接发送给您，链接 7 天内有效。""",
    ),
    ArticleSeed(
        "export-timeout",
        "reports-integrations",
        "reports-dashboards",
        "reports",
        "export",
        ("known-issue",),
        "Large exports time out",
        """If an export stops with *"This is taking longer than expected"*, narrow the date
range or remove columns you do not need, or use **Export in background**: it has no
time limit and emails you the file.

Exports started at the top of the hour on Mondays are slower while weekly reports run.""",
        "大报表导出超时",
        """如果导出提示 *“处理时间比预期长”*，请缩小日期范围或去掉不需要的列，或使用 **后台导出**：后台导出没有时间限制，完成后会邮件发送文件。

每周一整点前后正在生成周报，导出会慢一些。""",
    ),
    ArticleSeed(
        "scheduled-reports",
        "reports-integrations",
        "reports-dashboards",
        "reports",
        "export",
        (),
        "Email a report on a schedule",
        """Open a report, click **Schedule** and pick the recipients, the format and when to
send it (daily, weekly or monthly, in your time zone). Recipients do not need an account.""",
        "定时邮件发送报表",
        """打开报表，点击 **定时发送**，选择收件人、格式和发送时间（每天、每周或每月，按您的时区）。收件人不需要账号。""",
        zh_draft=True,
    ),
    ArticleSeed(
        "build-dashboard",
        "reports-integrations",
        "reports-dashboards",
        "reports",
        "dashboards",
        (),
        "Build a dashboard",
        """1. Click **New dashboard** and give it a name.
2. Add charts from saved reports, or build one in place.
3. Drag charts to arrange them; resize from the corner.

Dashboards refresh every 15 minutes, or when you click **Refresh**.""",
        "创建仪表盘",
        """1. 点击 **新建仪表盘** 并命名。
2. 从已保存的报表中添加图表，或直接新建图表。
3. 拖动图表调整位置，拖动右下角调整大小。

仪表盘每 15 分钟刷新一次，也可以点击 **刷新**。""",
    ),
    ArticleSeed(
        "share-dashboard",
        "reports-integrations",
        "reports-dashboards",
        "reports",
        "dashboards",
        (),
        "Share a dashboard with people outside your workspace",
        """Click **Share → Public link** on a dashboard. Anyone with the link sees the
dashboard read-only, without an account. Turn the link off at any time; admins can
forbid public links under **Settings → Security**.""",
        "与外部人员共享仪表盘",
        """在仪表盘上点击 **共享 → 公开链接**。拿到链接的人无需账号即可只读查看。链接可随时关闭；管理员可以在 **设置 → 安全** 中禁止公开链接。""",
    ),
    ArticleSeed(
        "slack-connect",
        "reports-integrations",
        "integrations",
        "integrations",
        "slack",
        (),
        "Connect Slack",
        """Go to **Settings → Integrations → Slack** and click **Add to Slack**. Pick the
channels that receive alerts and digests. Each person can link their own Slack account
to get direct messages for their mentions.""",
        "连接 Slack",
        """打开 **设置 → 集成 → Slack**，点击 **添加到 Slack**。选择接收提醒和摘要的频道。每位成员也可以绑定自己的 Slack 账号，被提及时收到私信。""",
    ),
    ArticleSeed(
        "slack-notifications-stopped",
        "reports-integrations",
        "integrations",
        "integrations",
        "slack",
        ("known-issue",),
        "Slack notifications stopped",
        """Slack disconnects an app when the person who installed it leaves your Slack
workspace. Reconnect under **Settings → Integrations → Slack**, ideally from a shared
admin account.""",
    ),
    ArticleSeed(
        "webhooks-setup",
        "reports-integrations",
        "api-webhooks",
        "api",
        "webhooks",
        ("api",),
        "Receive events with webhooks",
        """Add an endpoint under **Settings → API → Webhooks** and choose the events to
send. We POST JSON to your URL and expect a `2xx` answer within 10 seconds; failed
deliveries are retried with back-off for 24 hours. The delivery log shows every attempt
and its response.""",
        "使用回调接收事件",
        """在 **设置 → 接口 → 回调** 中添加接收地址，并选择要推送的事件。我们会向您的地址 POST JSON，需在 10 秒内返回 `2xx`；失败的推送会在 24 小时内逐步退避重试。推送日志中可以看到每次尝试及其响应。""",
    ),
    ArticleSeed(
        "webhook-signatures",
        "reports-integrations",
        "api-webhooks",
        "api",
        "webhooks",
        ("api", "security"),
        "Verify webhook signatures",
        """Every delivery carries an `X-Signature` header: the HMAC-SHA256 of the raw body
with your endpoint's secret, in hex. Compute it on your side over the bytes you
received (before parsing JSON) and compare in constant time. Reject deliveries older
than 5 minutes using the `X-Timestamp` header.""",
        "校验回调签名",
        """每次推送都带有 `X-Signature` 请求头：用接收地址的密钥对原始请求体计算的 HMAC-SHA256（十六进制）。请在解析 JSON 之前，对收到的原始字节计算并以常量时间比较。借助 `X-Timestamp` 请求头拒绝超过 5 分钟的推送。""",
    ),
    ArticleSeed(
        "api-keys",
        "reports-integrations",
        "api-webhooks",
        "api",
        "webhooks",
        ("api",),
        "Create and rotate API keys",
        """Create keys under **Settings → API → Keys**. A key is shown once; store it in
your secret manager. To rotate, create a new key, deploy it, then revoke the old one —
both work in the meantime.""",
        "创建和更换 API 密钥",
        """在 **设置 → 接口 → 密钥** 中创建密钥。密钥只显示一次，请保存到密钥管理工具中。更换时先创建新密钥并部署，再撤销旧密钥——期间两个密钥都可以使用。""",
    ),
    ArticleSeed(
        "mobile-sync",
        "mobile-workspace",
        "mobile-app",
        "mobile",
        "sync",
        ("mobile",),
        "The mobile app does not sync",
        """- Pull down on any list to sync now.
- Check that the app may use mobile data (**Settings → Mobile data** on your phone).
- Sign out and in again if the app was offline for more than 30 days.

Changes made offline are kept on the phone and sent when you are back online.""",
        "手机应用不同步",
        """- 在任意列表下拉即可立即同步。
- 检查手机 **设置 → 移动数据** 中是否允许应用使用流量。
- 如果应用离线超过 30 天，请退出后重新登录。

离线时的修改会保存在手机上，联网后自动上传。""",
    ),
    ArticleSeed(
        "mobile-notifications",
        "mobile-workspace",
        "mobile-app",
        "mobile",
        "notifications",
        ("mobile",),
        "Turn push notifications on or off",
        """In the app, open **Profile → Notifications** and pick what you want to hear about.
If nothing arrives, allow notifications for the app in your phone's settings; on
Android, also exempt it from battery optimisation.""",
        "开启或关闭推送通知",
        """在应用中打开 **个人资料 → 通知**，选择需要提醒的内容。如果收不到通知，请在手机设置中允许应用发送通知；安卓手机还需要把应用加入电池优化白名单。""",
    ),
    ArticleSeed(
        "invite-members",
        "mobile-workspace",
        "users-permissions",
        "workspace",
        "users-permissions",
        ("onboarding",),
        "Invite people to your workspace",
        """Go to **Settings → Members → Invite**, enter email addresses and pick a role.
Invitations are valid for 7 days. With single sign-on and SCIM, people are added
automatically when your identity provider assigns them the app.""",
        "邀请成员加入工作区",
        """打开 **设置 → 成员 → 邀请**，输入邮箱并选择角色。邀请 7 天内有效。如果启用了单点登录和 SCIM，身份提供商为成员分配应用后会自动加入。""",
    ),
    ArticleSeed(
        "roles-permissions",
        "mobile-workspace",
        "users-permissions",
        "workspace",
        "users-permissions",
        ("security",),
        "Roles and what each can do",
        """| Role | Can do |
|---|---|
| Owner | Everything, including billing and deleting the workspace |
| Admin | Members, security, integrations |
| Member | Create and edit reports and dashboards |
| Viewer | Read only |

Change someone's role under **Settings → Members**.""",
        "角色与权限说明",
        """| 角色 | 权限 |
|---|---|
| 所有者 | 全部权限，包括账单和删除工作区 |
| 管理员 | 成员、安全、集成 |
| 成员 | 创建和编辑报表与仪表盘 |
| 只读成员 | 只能查看 |

在 **设置 → 成员** 中修改成员的角色。""",
    ),
)

# What help-center visitors typed, for the searches report: (term, locale, per day,
# found nothing). The no-result ones are topics no article covers yet.
SEARCH_TERMS: tuple[tuple[str, str, float, bool], ...] = (
    ("invoice", "en", 6.0, False),
    ("refund", "en", 4.0, False),
    ("sso", "en", 3.0, False),
    ("export", "en", 3.5, False),
    ("reset password", "en", 5.0, False),
    ("webhook", "en", 2.0, False),
    ("salesforce", "en", 2.5, True),
    ("rate limit", "en", 1.5, True),
    ("data retention", "en", 1.2, True),
    ("dark mode", "en", 0.8, True),
    ("gdpr delete", "en", 0.6, True),
    ("发票", "zh-hans", 5.0, False),
    ("退款", "zh-hans", 3.0, False),
    ("导出", "zh-hans", 2.5, False),
    ("密码", "zh-hans", 3.0, False),
    ("单点登录", "zh-hans", 1.0, False),
    ("数据保留", "zh-hans", 1.0, True),
    ("接口限流", "zh-hans", 1.2, True),
    ("离线模式", "zh-hans", 0.5, True),
    ("红字发票", "zh-hans", 0.7, True),
)
