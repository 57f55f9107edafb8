"""What demo customers write about, in English and Simplified Chinese.

Each topic belongs to one product feature and carries the pieces of a believable
conversation: subjects, the first message, the agent's first reply, a customer
follow-up, an internal note and the closing reply. ``{placeholders}`` are filled per
ticket from ``fill_values`` so no two tickets read exactly alike.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Conversation:
    subjects: tuple[str, ...]
    descriptions: tuple[str, ...]
    replies: tuple[str, ...]
    followups: tuple[str, ...]
    notes: tuple[str, ...]
    closings: tuple[str, ...]


@dataclass(frozen=True)
class Topic:
    area: str  # ProductArea slug
    feature: str  # Feature slug
    type: str  # TicketType value
    tags: tuple[str, ...]
    weight: int
    en: Conversation
    zh: Conversation


TOPICS: tuple[Topic, ...] = (
    Topic(
        "billing",
        "invoices",
        "question",
        ("invoice",),
        6,
        Conversation(
            subjects=(
                "Invoice {invoice} shows the wrong VAT number",
                "Need a copy of invoice {invoice}",
                "Company address on our invoices is outdated",
            ),
            descriptions=(
                "Hi, our finance team noticed that invoice {invoice} still lists our old VAT "
                "number. Could you reissue it with the new one? Our auditors need it by {weekday}.",
                "Hello, I can't find invoice {invoice} in the billing page. Could you send a PDF "
                "copy? We moved offices in {month} and the address needs updating as well.",
            ),
            replies=(
                "Thanks for flagging this, {first_name}. I've updated the billing profile; could "
                "you confirm the new VAT number is {vat}?",
                "Hi {first_name}, I've attached a fresh copy of invoice {invoice}. Future invoices "
                "will use the address you gave us.",
            ),
            followups=(
                "Yes, {vat} is correct. Thanks for the quick help!",
                "Got it, but the PDF still shows the old street name.",
            ),
            notes=(
                "Reissued {invoice} in the billing system; credit note created for the old one.",
                "Finance asked us to double-check the VAT format before reissuing.",
            ),
            closings=(
                "The corrected invoice is in your billing page now. Let me know if anything else "
                "looks off.",
            ),
        ),
        Conversation(
            subjects=(
                "发票抬头错误，需要重开发票",
                "请补开{month}的增值税专用发票",
                "发票上的税号不对",
            ),
            descriptions=(
                "你好，我们{month}的发票 {invoice} 抬头写错了，财务要求重新开具，麻烦尽快处理。",
                "您好，请帮忙补开增值税专用发票，税号是 {vat}，邮寄地址已在附件中。",
            ),
            replies=(
                "{first_name}您好，已收到您的申请，请确认新的税号为 {vat}，确认后我们会在两个工作日内重开。",
                "您好，发票 {invoice} 已经作废并重新开具，电子版已发送到您的邮箱。",
            ),
            followups=("税号确认无误，谢谢！", "收到了，但是纸质发票什么时候能寄到？"),
            notes=("已在财务系统中作废 {invoice} 并重开。", "客户要求纸质发票，已转交财务同事。"),
            closings=("新的发票已经寄出，快递单号已发到您的邮箱，请注意查收。",),
        ),
    ),
    Topic(
        "billing",
        "refunds",
        "question",
        ("refund",),
        6,
        Conversation(
            subjects=(
                "Refund request for duplicate charge",
                "We were charged twice this month",
                "Please refund the unused seats",
            ),
            descriptions=(
                "Hi, our card was charged twice on {date} for the same subscription ({amount}). "
                "Please refund the duplicate payment.",
                "We reduced our plan from {count} to {count2} seats last week but were billed for "
                "all of them. Can we get a refund for the difference?",
            ),
            replies=(
                "Sorry about that, {first_name}. I can see the duplicate charge of {amount}; I've "
                "started the refund and it should reach your card in 5–10 business days.",
                "Hi {first_name}, the seat change happened after the renewal date, so the refund "
                "needs approval from billing. I'll update you shortly.",
            ),
            followups=(
                "Thanks. Will we get a credit note for our records?",
                "It has been a week and I still don't see the refund.",
            ),
            notes=(
                "Duplicate charge confirmed in the payment provider; refund id {ref}.",
                "Pro-rated refund approved by billing lead.",
            ),
            closings=(
                "The refund of {amount} has been processed and the credit note is attached.",
            ),
        ),
        Conversation(
            subjects=("申请退款：重复扣费", "申请退款", "退款什么时候到账？"),
            descriptions=(
                "你好，我们的信用卡在{date}被重复扣费了两次，金额{amount}，请帮忙退款。",
                "我们已经取消了多余的{count2}个席位，想申请退款，请问需要提供什么材料？",
            ),
            replies=(
                "{first_name}您好，已核实重复扣费，退款已提交，预计5到10个工作日原路退回。",
                "您好，席位调整发生在续费之后，退款需要财务审批，我们会尽快回复您。",
            ),
            followups=("退款还没有到账，能帮忙查一下吗？", "好的，谢谢，请同时开一张红字发票。"),
            notes=("支付平台已确认重复扣费，退款单号 {ref}。", "财务已批准按比例退款。"),
            closings=("退款{amount}已完成，相关凭证已发送到您的邮箱。",),
        ),
    ),
    Topic(
        "billing",
        "payment-methods",
        "incident",
        (),
        3,
        Conversation(
            subjects=("Card declined when renewing", "Can we pay by bank transfer?"),
            descriptions=(
                "Our renewal failed with 'card declined', but the bank says there is no block on "
                "the card ending {last4}. Can you retry?",
                "Our procurement team prefers bank transfer instead of a card. Is that possible "
                "for an annual plan of {count} seats?",
            ),
            replies=(
                "Hi {first_name}, the payment provider returned 'do not honor'. Could you try "
                "again from the billing page? I've extended your grace period by 7 days.",
                "Yes, annual plans can be paid by transfer. I've switched your account to invoice "
                "billing.",
            ),
            followups=(
                "Tried again, it worked this time.",
                "Great, where do we send the remittance?",
            ),
            notes=("Grace period extended to avoid suspension.",),
            closings=("Payment received, your subscription is active until next year.",),
        ),
        Conversation(
            subjects=("续费时信用卡被拒", "可以用对公转账付款吗？"),
            descriptions=(
                "续费时提示“银行卡被拒绝”，但银行说尾号{last4}的卡没有问题，请帮忙看看。",
                "我们公司只能对公转账，{count}个席位的年付方案可以走转账吗？",
            ),
            replies=(
                "您好，支付通道返回了拒绝代码，请在账单页面重试，我们已为您延长7天宽限期。",
                "可以的，年付方案支持对公转账，已为您切换为发票付款方式。",
            ),
            followups=("重新支付成功了，谢谢。", "好的，转账备注需要写什么？"),
            notes=("已延长宽限期，避免账号被停用。",),
            closings=("已收到款项，您的订阅已续期一年。",),
        ),
    ),
    Topic(
        "login",
        "sso",
        "incident",
        ("sso",),
        5,
        Conversation(
            subjects=(
                "SSO login fails with SAML error",
                "Okta users cannot sign in since this morning",
                "Azure AD single sign-on redirects in a loop",
            ),
            descriptions=(
                "Since {weekday} none of our users can sign in through SSO. The error says "
                "'SAML response signature invalid'. We rotated our IdP certificate recently.",
                "After signing in with our identity provider we are sent back to the login page "
                "again and again. This affects about {count} people.",
            ),
            replies=(
                "Hi {first_name}, that error usually means the new IdP certificate hasn't been "
                "uploaded to your workspace yet. Could you upload it under Settings → SSO?",
                "Thanks, {first_name}. Could you send us a SAML trace from a failed attempt? The "
                "browser extension 'SAML-tracer' makes this easy.",
            ),
            followups=(
                "Uploaded the certificate and it works again. Thanks!",
                "Attached the trace. Still looping for some users.",
            ),
            notes=(
                "Clock skew on customer IdP was 6 minutes; asked them to fix NTP.",
                "Escalating to Tier 2: NameID format mismatch.",
            ),
            closings=(
                "Glad it's working. I've added a note about certificate rotation to your account.",
            ),
        ),
        Conversation(
            subjects=("单点登录失败", "无法登录：SSO 报错", "企业微信单点登录一直跳转"),
            descriptions=(
                "从{weekday}开始，我们所有员工都无法通过单点登录进入系统，提示“SAML 签名无效”。",
                "使用公司账号登录后又被跳回登录页面，大约有{count}位同事受影响，非常着急。",
            ),
            replies=(
                "{first_name}您好，这个错误通常是身份提供方证书更新后没有同步，请在“设置 → 单点登录”中上传新证书。",
                "您好，麻烦提供一次失败登录的 SAML 日志，我们需要进一步排查。",
            ),
            followups=("上传新证书之后可以登录了，谢谢！", "日志已附上，部分同事仍然无法登录。"),
            notes=("客户服务器时间偏差6分钟，已建议同步时间。", "NameID 格式不匹配，升级到二线。"),
            closings=("问题已解决，我们已在账号备注中记录证书更新的注意事项。",),
        ),
    ),
    Topic(
        "login",
        "2fa",
        "question",
        ("security",),
        5,
        Conversation(
            subjects=(
                "Lost my phone, can't pass two-factor authentication",
                "2FA codes are always rejected",
                "How do we enforce 2FA for everyone?",
            ),
            descriptions=(
                "I got a new phone and lost my authenticator app. I can't log in anymore. Can you "
                "reset two-factor authentication for {email}?",
                "Every code from my authenticator app is rejected as invalid. I've tried {count} "
                "times now and I'm locked out.",
            ),
            replies=(
                "Hi {first_name}, for security we need your workspace admin to confirm the reset. "
                "I've emailed them; once they reply I'll reset 2FA for you.",
                "That usually happens when the phone's clock is off. Could you turn on automatic "
                "time in your phone settings and try again?",
            ),
            followups=(
                "Our admin confirmed by email.",
                "Turned on automatic time, codes work now.",
            ),
            notes=("Identity verified via workspace admin; 2FA reset.",),
            closings=("2FA is reset. Please set it up again at your next sign-in.",),
        ),
        Conversation(
            subjects=("无法登录", "无法登录：收不到两步验证码", "换手机后两步验证无法通过"),
            descriptions=(
                "我换了新手机，验证器里的账号没有了，现在无法登录，请帮忙重置 {email} 的两步验证。",
                "两步验证码一直提示错误，已经试了{count}次，账号被锁定了。",
            ),
            replies=(
                "{first_name}您好，为了账号安全，需要贵公司管理员确认后才能重置，我们已发邮件给管理员。",
                "您好，这通常是手机时间不准导致的，请在手机设置中开启“自动设置时间”后再试。",
            ),
            followups=("管理员已经回复确认了。", "开启自动时间后可以登录了，谢谢。"),
            notes=("已通过管理员核实身份，两步验证已重置。",),
            closings=("两步验证已重置，下次登录时请重新绑定。",),
        ),
    ),
    Topic(
        "login",
        "password-reset",
        "question",
        (),
        3,
        Conversation(
            subjects=("Password reset email never arrives", "Reset link says it has expired"),
            descriptions=(
                "I requested a password reset three times but nothing arrives, not even in spam. "
                "My address is {email}.",
                "Every reset link I click says it has expired, even right after it arrives.",
            ),
            replies=(
                "Hi {first_name}, our mail logs show the message was rejected by your mail server. "
                "Could you ask IT to allow mail from our domain?",
                "Some mail scanners open links before you do, which uses them up. I've sent a "
                "link that stays valid for one hour.",
            ),
            followups=("IT allowed it and the email arrived.", "That worked, thank you."),
            notes=("Customer mail gateway pre-fetches links.",),
            closings=("Happy to help. You can now sign in with your new password.",),
        ),
        Conversation(
            subjects=("收不到重置密码邮件", "重置密码链接提示已过期"),
            descriptions=(
                "申请了三次重置密码都没有收到邮件，垃圾箱也没有，我的邮箱是 {email}。",
                "点开重置链接就提示过期，刚收到邮件马上点也不行。",
            ),
            replies=(
                "您好，邮件日志显示被贵公司的邮件服务器拒收了，请联系 IT 把我们的域名加入白名单。",
                "部分邮件安全网关会提前访问链接导致失效，我们已发送一个一小时内有效的新链接。",
            ),
            followups=("加入白名单后收到了。", "新链接可以用，谢谢。"),
            notes=("客户邮件网关会预先访问链接。",),
            closings=("密码已重置成功，如有其他问题欢迎随时联系。",),
        ),
    ),
    Topic(
        "reports",
        "export",
        "problem",
        ("bug",),
        4,
        Conversation(
            subjects=(
                "CSV export is empty",
                "Report export times out",
                "Export to Excel garbles Chinese characters",
            ),
            descriptions=(
                "When I export the '{report}' report to CSV the file only has the header row, "
                "although the screen shows {count} rows.",
                "Exporting last quarter's '{report}' report spins for minutes and then fails.",
            ),
            replies=(
                "Thanks {first_name}, I could reproduce it: filters with a date range are dropped "
                "in the export. Our engineers are on it; meanwhile exporting without the filter "
                "works.",
                "Large exports now run in the background; you'll get an email with the file. "
                "Could you try once more?",
            ),
            followups=("The workaround is fine for now.", "Still failing for me, same error."),
            notes=("Known issue EXP-{ref}: date filter lost in CSV export.",),
            closings=("The fix is live. Exports now include every filtered row.",),
        ),
        Conversation(
            subjects=("导出报表为空", "导出报表超时", "导出 Excel 中文乱码"),
            descriptions=(
                "导出“{report}”报表为 CSV 时只有表头，但页面上显示有{count}条数据。",
                "导出上个季度的“{report}”报表一直转圈，最后提示失败。",
            ),
            replies=(
                "{first_name}您好，已复现：带日期筛选条件时导出会丢失筛选，工程师正在修复，暂时可以先去掉筛选导出。",
                "大数据量导出现在改为后台处理，完成后会发邮件通知，请再试一次。",
            ),
            followups=("先用临时方案，谢谢。", "还是失败，报同样的错误。"),
            notes=("已知问题 EXP-{ref}：CSV 导出丢失日期筛选。",),
            closings=("修复已上线，导出结果现在包含全部筛选数据。",),
        ),
    ),
    Topic(
        "reports",
        "dashboards",
        "question",
        ("how-to",),
        3,
        Conversation(
            subjects=("Dashboard numbers don't match the export", "How do I share a dashboard?"),
            descriptions=(
                "The '{report}' dashboard shows {count} but the export for the same period shows "
                "{count2}. Which one is right?",
                "I'd like to share our '{report}' dashboard with the leadership team without "
                "giving them edit rights.",
            ),
            replies=(
                "Good question, {first_name}. The dashboard uses your time zone, the export uses "
                "UTC, so the edges of the period differ.",
                "Open the dashboard, click Share and choose 'View only'. Viewers don't need a paid "
                "seat.",
            ),
            followups=("That explains it, thanks.", "Perfect, done."),
            notes=("Suggested product add a time-zone hint on exports.",),
            closings=("Let us know if you need anything else for your dashboards.",),
        ),
        Conversation(
            subjects=("仪表盘数据和导出不一致", "如何分享仪表盘？"),
            descriptions=(
                "“{report}”仪表盘显示{count}，同一时间段导出的数据却是{count2}，以哪个为准？",
                "想把“{report}”仪表盘分享给管理层，但不希望他们能修改。",
            ),
            replies=(
                "您好，仪表盘按您的时区统计，导出按 UTC 统计，所以时间段边界不同。",
                "打开仪表盘点击“分享”，选择“仅查看”即可，查看者不占用付费席位。",
            ),
            followups=("明白了，谢谢。", "已经分享好了。"),
            notes=("建议产品在导出中提示时区。",),
            closings=("如还有关于仪表盘的问题，欢迎随时联系。",),
        ),
    ),
    Topic(
        "integrations",
        "slack",
        "incident",
        (),
        4,
        Conversation(
            subjects=("Slack notifications stopped", "Slack channel gets every message twice"),
            descriptions=(
                "Our #support-alerts channel stopped getting notifications on {date}. Nothing "
                "changed on our side as far as I know.",
                "Each notification now shows up twice in Slack since we reconnected the app.",
            ),
            replies=(
                "Hi {first_name}, the Slack token for your workspace was revoked, probably when "
                "the installing user left. Could an admin reconnect Slack under Integrations?",
                "It looks like the app is installed twice. Removing the older installation will "
                "stop the duplicates.",
            ),
            followups=("Reconnected, messages flow again.", "Removed the old one, thanks."),
            notes=("Token revoked on Slack side (user deactivated).",),
            closings=("Great, Slack is healthy again.",),
        ),
        Conversation(
            subjects=("Slack 通知不再推送", "Slack 频道收到重复消息"),
            descriptions=(
                "我们的 #support-alerts 频道从{date}起收不到通知了，我们这边没有做任何改动。",
                "重新连接 Slack 之后，每条通知都会出现两次。",
            ),
            replies=(
                "{first_name}您好，Slack 授权已失效，可能是安装应用的同事离职了，请管理员在“集成”中重新连接。",
                "应用被安装了两次，删除旧的安装即可。",
            ),
            followups=("重新连接后恢复了。", "删掉旧的后正常了。"),
            notes=("Slack 侧令牌已被吊销（用户停用）。",),
            closings=("Slack 通知已恢复正常。",),
        ),
    ),
    Topic(
        "integrations",
        "salesforce",
        "problem",
        ("bug",),
        3,
        Conversation(
            subjects=("Salesforce sync creates duplicate contacts", "Salesforce sync stuck"),
            descriptions=(
                "Every night the Salesforce sync creates duplicates of about {count} contacts. "
                "Can we stop it and merge them?",
                "The sync status has said 'running' since {date}.",
            ),
            replies=(
                "Hi {first_name}, duplicates appear when the email field differs in case. We've "
                "enabled case-insensitive matching for your workspace and will merge them.",
                "The job hit an API limit on your Salesforce org. I've restarted it with a smaller "
                "batch size.",
            ),
            followups=("Looks clean this morning.", "It finished, thanks."),
            notes=("Merged duplicates with the admin script.",),
            closings=("The sync is healthy. We'll keep an eye on tonight's run.",),
        ),
        Conversation(
            subjects=("Salesforce 同步产生重复联系人", "Salesforce 同步卡住"),
            descriptions=(
                "每晚 Salesforce 同步都会生成大约{count}个重复联系人，能否停止并合并？",
                "同步状态从{date}起一直显示“运行中”。",
            ),
            replies=(
                "您好，邮箱大小写不同会导致重复，已为您开启不区分大小写匹配，并会合并重复数据。",
                "同步任务触发了 Salesforce 的 API 限额，已用较小批量重新启动。",
            ),
            followups=("今天早上看已经没有重复了。", "同步完成了，谢谢。"),
            notes=("已用管理脚本合并重复联系人。",),
            closings=("同步已恢复正常，我们会关注今晚的运行情况。",),
        ),
    ),
    Topic(
        "api",
        "webhooks",
        "incident",
        ("api",),
        4,
        Conversation(
            subjects=("Webhook deliveries failing with 500", "Webhook signature does not verify"),
            descriptions=(
                "Our endpoint receives webhooks but since {date} every delivery shows 'failed' in "
                "your log, although we answer 200.",
                "We can't verify the webhook signature with the secret from the settings page. "
                "Our code is below.",
            ),
            replies=(
                "Hi {first_name}, your endpoint takes over 10 seconds to answer, so our side times "
                "out. Could you acknowledge first and process in the background?",
                "The signature is computed over the raw body; your framework re-serialises the "
                "JSON before you hash it. Hashing the raw bytes will fix it.",
            ),
            followups=(
                "We moved processing to a queue; deliveries succeed now.",
                "Using the raw body worked.",
            ),
            notes=("Customer endpoint p95 12s per delivery log.",),
            closings=("Webhooks are being delivered successfully again.",),
        ),
        Conversation(
            subjects=("Webhook 回调一直失败", "Webhook 签名校验不通过"),
            descriptions=(
                "我们的接口能收到回调，但从{date}起日志里每次都显示失败，我们明明返回了200。",
                "用设置页面的密钥无法校验 Webhook 签名，代码附在下面。",
            ),
            replies=(
                "{first_name}您好，贵方接口响应超过10秒导致超时，建议先返回成功再异步处理。",
                "签名是基于原始请求体计算的，您的框架先重新序列化了 JSON，请直接对原始字节计算。",
            ),
            followups=("改成异步处理后成功了。", "用原始请求体校验通过了。"),
            notes=("客户接口 p95 响应12秒。",),
            closings=("Webhook 已恢复正常推送。",),
        ),
    ),
    Topic(
        "api",
        "rate-limits",
        "question",
        ("api",),
        2,
        Conversation(
            subjects=("Getting 429 Too Many Requests", "Can you raise our API rate limit?"),
            descriptions=(
                "Our nightly import gets '429 Too Many Requests' after about {count} calls.",
                "We're onboarding {count} new users and need a higher API limit for a week.",
            ),
            replies=(
                "Hi {first_name}, the limit is per token per minute; using the bulk endpoint cuts "
                "your calls by 90%.",
                "I've raised the limit for your token until the end of next week.",
            ),
            followups=("The bulk endpoint works great.", "Thanks, import is running."),
            notes=("Temporary limit raise approved by Tier 2.",),
            closings=("Good luck with the rollout!",),
        ),
        Conversation(
            subjects=("接口返回 429 限流", "能否提高 API 调用上限？"),
            descriptions=(
                "夜间导入在调用大约{count}次后返回“429 请求过多”。",
                "我们要导入{count}个新用户，需要临时提高一周的 API 上限。",
            ),
            replies=(
                "您好，限流按令牌每分钟计算，使用批量接口可以减少九成调用。",
                "已为您的令牌临时提高上限，到下周末为止。",
            ),
            followups=("批量接口很好用。", "谢谢，导入已经开始了。"),
            notes=("二线已批准临时提高上限。",),
            closings=("祝上线顺利！",),
        ),
    ),
    Topic(
        "mobile",
        "sync",
        "problem",
        ("mobile", "bug"),
        4,
        Conversation(
            subjects=("iOS app not syncing offline changes", "Android app shows stale data"),
            descriptions=(
                "Changes I make offline on my iPhone never reach the web app once I'm back "
                "online. App version {version}.",
                "The Android app still shows tickets that were closed yesterday, even after "
                "pull-to-refresh. Version {version}.",
            ),
            replies=(
                "Thanks {first_name}. Version {version} has a bug with offline edits; the fix is in "
                "the next release. Meanwhile, please keep the app open until the sync icon clears.",
                "Could you sign out and in again? That clears the local cache.",
            ),
            followups=("Updated the app and it syncs now.", "Signing out helped."),
            notes=("Mobile team tracking as MOB-{ref}.",),
            closings=("The new release fixes offline sync; thanks for your patience.",),
        ),
        Conversation(
            subjects=("手机端数据不同步", "安卓客户端数据不刷新"),
            descriptions=(
                "在 iPhone 上离线修改的内容，联网后一直没有同步到网页端，版本 {version}。",
                "安卓客户端还显示昨天已经关闭的工单，下拉刷新也没用，版本 {version}。",
            ),
            replies=(
                "{first_name}您好，{version} 版本的离线编辑存在缺陷，下个版本会修复，目前请等同步图标消失后再关闭应用。",
                "请退出登录后重新登录，这样会清除本地缓存。",
            ),
            followups=("更新应用后可以同步了。", "重新登录后正常了。"),
            notes=("移动端团队跟踪编号 MOB-{ref}。",),
            closings=("新版本已修复离线同步问题，感谢耐心等待。",),
        ),
    ),
    Topic(
        "mobile",
        "notifications",
        "feature_request",
        ("mobile", "feedback"),
        2,
        Conversation(
            subjects=("Push notifications arrive hours late", "Feature request: quiet hours"),
            descriptions=(
                "Push notifications on my phone arrive hours after the event.",
                "It would be great to mute notifications outside working hours.",
            ),
            replies=(
                "Hi {first_name}, battery optimisation on some phones delays pushes. Excluding the "
                "app from battery optimisation usually fixes it.",
                "Thanks for the idea! I've passed it to our product team.",
            ),
            followups=("That fixed it.", "Thanks, looking forward to it."),
            notes=("Feature request logged for quiet hours.",),
            closings=("Thanks again for the feedback.",),
        ),
        Conversation(
            subjects=("推送通知延迟", "功能建议：免打扰时段"),
            descriptions=("手机推送通知要过几个小时才收到。", "希望能在非工作时间关闭通知。"),
            replies=(
                "您好，部分手机的省电优化会延迟推送，把应用加入省电白名单通常可以解决。",
                "感谢建议！已转给产品团队。",
            ),
            followups=("设置之后正常了。", "谢谢，期待上线。"),
            notes=("已记录免打扰时段的需求。",),
            closings=("再次感谢您的反馈。",),
        ),
    ),
    Topic(
        "workspace",
        "users-permissions",
        "question",
        ("how-to", "onboarding"),
        4,
        Conversation(
            subjects=("How do I give a colleague admin rights?", "Remove a user who left"),
            descriptions=(
                "Our new operations lead needs admin rights in our workspace. How do I do that?",
                "A colleague left the company; how do we remove them and keep their data?",
            ),
            replies=(
                "Hi {first_name}, go to Settings → Users, open their profile and change the role "
                "to Admin.",
                "Deactivate the user under Settings → Users; their records stay and can be "
                "reassigned.",
            ),
            followups=("Found it, thanks!", "Done, thanks for the quick answer."),
            notes=("Sent the onboarding guide link as well.",),
            closings=("Happy to help!",),
        ),
        Conversation(
            subjects=("如何给同事分配管理员权限", "员工离职后如何删除账号"),
            descriptions=(
                "新来的运营负责人需要管理员权限，应该怎么设置？",
                "有同事离职了，怎么删除他的账号同时保留数据？",
            ),
            replies=(
                "{first_name}您好，进入“设置 → 用户”，打开该同事的资料，把角色改为管理员即可。",
                "在“设置 → 用户”中停用该账号，数据会保留并可以转交给其他同事。",
            ),
            followups=("找到了，谢谢！", "已经处理好了，谢谢。"),
            notes=("同时发送了新手指南链接。",),
            closings=("很高兴能帮到您！",),
        ),
    ),
    Topic(
        "workspace",
        "data-retention",
        "task",
        ("security",),
        2,
        Conversation(
            subjects=("Please delete our old workspace data", "Data export before cancellation"),
            descriptions=(
                "We closed our old workspace in {month}. Under GDPR please delete all data we "
                "stored there.",
                "We are evaluating our renewal and need a full export of our data first.",
            ),
            replies=(
                "Hi {first_name}, we've scheduled the deletion; you'll receive a confirmation once "
                "it's complete (within 30 days).",
                "The full export is being prepared; you'll get a download link by email.",
            ),
            followups=("Thank you for confirming.", "Got the link, thanks."),
            notes=("Deletion request logged; legal informed.",),
            closings=("The deletion is complete. Certificate of deletion attached.",),
        ),
        Conversation(
            subjects=("请删除我们旧账号的数据", "取消前导出全部数据"),
            descriptions=(
                "我们在{month}已经停用了旧的工作区，请按规定删除其中的全部数据。",
                "我们在评估是否续约，需要先导出全部数据。",
            ),
            replies=(
                "您好，数据删除已排期，完成后（30天内）会发送确认函。",
                "完整数据导出正在生成，完成后会通过邮件发送下载链接。",
            ),
            followups=("感谢确认。", "收到链接了，谢谢。"),
            notes=("已登记删除请求并告知法务。",),
            closings=("数据已全部删除，删除证明见附件。",),
        ),
    ),
)

# Extra words for placeholder values.
_REPORTS_EN = ("Monthly revenue", "Ticket volume", "Churn by plan", "Agent performance")
_REPORTS_ZH = ("月度收入", "工单量", "流失分析", "客服绩效")
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
_WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五")
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTHS_ZH = (
    "一月",
    "二月",
    "三月",
    "四月",
    "五月",
    "六月",
    "七月",
    "八月",
    "九月",
    "十月",
    "十一月",
    "十二月",
)


def fill_values(
    rng: random.Random, *, chinese: bool, first_name: str, email: str
) -> dict[str, str]:
    """Values for every placeholder any template may use."""
    count = rng.randint(3, 400)
    return {
        "first_name": first_name,
        "email": email,
        "invoice": f"INV-{rng.randint(2024, 2026)}-{rng.randint(1000, 9999)}",
        "vat": ("CN" if chinese else "GB") + str(rng.randint(100000000, 999999999)),
        "amount": (f"¥{rng.randint(3, 90) * 100}" if chinese else f"${rng.randint(4, 120) * 10}"),
        "count": str(count),
        "count2": str(max(1, count - rng.randint(1, 50))),
        "date": f"{rng.randint(1, 12)}/{rng.randint(1, 28)}"
        if not chinese
        else f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日",
        "weekday": rng.choice(_WEEKDAYS_ZH if chinese else _WEEKDAYS_EN),
        "month": rng.choice(_MONTHS_ZH if chinese else _MONTHS_EN),
        "last4": f"{rng.randint(0, 9999):04d}",
        "ref": str(rng.randint(100, 9999)),
        "report": rng.choice(_REPORTS_ZH if chinese else _REPORTS_EN),
        "version": f"{rng.randint(3, 5)}.{rng.randint(0, 12)}.{rng.randint(0, 9)}",
    }
