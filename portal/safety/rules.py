# ruff: noqa: E501  (regex tables read better unwrapped than split mid-alternation)
"""Scored rules of the input guard (pure Python, no Django).

Each rule is a regular expression over folded text with a weight. A category's score is its
strongest rule (halved-ish when the rule needs an explicit "how do I / 怎么" request and none is
present), plus a little for each further rule that fires, minus a mitigation when the question is
framed legitimately (symptoms, penalties, prevention, reporting, being a victim). The guard refuses
at SAFETY_REFUSE_SCORE and cautions at SAFETY_CAUTION_SCORE.

Rules look for intent plus object ("how do I make" + "pipe bomb"), never for bare topic words, so
questions about overdose symptoms, drug sentencing, weapons law or HIV stay answerable. Rules of
the "absolute" kind (sexual content about minors) carry weights that no mitigation brings below
the refusal line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from portal.safety.rule_types import Rule
from portal.safety.rule_types import rule as _r
from portal.safety.rules_unsafe import UNSAFE

INTENT = re.compile(
    r"^(please )?(write|draft|create|make|generate|give|tell|show|list|explain|describe|design)\b|"
    r"\b(write|make|create|draft|generate) me\b|"
    r"\b(how (do|can|could|would|should|might|does|to) ?(i|you|we|one|someone|a person|people)?|"
    r"how to|ways? to|steps? (to|for)|instructions? (for|to|on)|recipe|tutorial|guide (to|on|for)|"
    r"teach me|show me|tell me|explain how|walk me through|help me|can you|could you|give me|"
    r"i need|i want|i'm going to|i am going to|i plan|want to|where (can|do|could) i|"
    r"(best|easiest|fastest|cheapest|simplest|safest|quickest|most effective) (way|method)|"
    r"what('s| is) the (best|easiest|fastest|cheapest|simplest) way|list (the )?(steps|ingredients|"
    r"materials|chemicals)|what (do i|would i|would you) need|is there a way|any tips|can i|could i|should i|"
    r"what (household )?(chemicals|materials|ingredients|tools|equipment|items|medicine|medication|drug|pills?) (can|could|should|do|would)|which (medicine|medication|drug|pills?|poison|chemical))\b"
    r"|怎么|怎样|如何|咋|教我|教教|告诉我|方法|步骤|配方|教程|流程|攻略|手把手|办法|帮我|给我|能不能|"
    r"有没有.{0,4}(路子|渠道|办法)|需要(什么|哪些)|用什么|哪里|哪儿|渠道|技巧|窍门|诀窍|什么(东西|药|办法|方法|材料)|哪种|放什么|准备什么"
)

# Legitimate framings: asking about symptoms, law, penalties, prevention, reporting, being a victim.
MITIGATION = re.compile(
    r"\b(symptoms?|signs? of|side effects?|treat(ment|ed|ing)?|what happens|penalt(y|ies)|"
    r"sentenc(e|ing)|punish(ment|ed)?|is it (legal|illegal|a crime|against the law)|legal(ly)?|"
    r"laws?|statutes?|regulations?|(how|where) (do|can|should|to) (i |we )?report|report(ing)? (suspected|a suspected|fraud|abuse|a scam|a crime|it to)|prevent(ion|ing)?|protect|recogni[sz]e|spot|"
    r"warning signs|risks?|dangers?|dangerous|overdose (symptoms|signs)|first aid|poison control|"
    r"recovery|rehab(ilitation)?|quit(ting)?|withdrawal|addiction|addicted|counsel(l)?ing|therapy|"
    r"support|hotline|victim|i was|i've been|i have been|someone (hacked|stole|scammed|used)|"
    r"accidentally|by mistake|false positive|history|statistics|why do people|how common|"
    r"what should i do|what can i do|safely|safe disposal|dispose of (old|unused|expired)|"
    r"rights|lawyer|attorney|police (said|told)|how do (police|courts|doctors))\b"
    r"|症状|表现|副作用|治疗|急救|量刑|判刑|判几年|判多久|处罚|惩罚|罚款|法律|法规|违法吗|犯法吗|"
    r"合法吗|犯罪吗|算犯罪|构成.{0,4}罪|什么罪|罪名|举报|报警|预防|防范|防止|识别|如何避免|怎么避免|危害|"
    r"戒毒|戒断|康复|求助|干预|热线|心理咨询|自杀倾向|自杀征兆|自杀迹象|有.{0,4}(倾向|念头)的(朋友|家人|孩子|人)|帮助.{0,8}(朋友|家人|孩子|同学|同事)|被(人肉|开盒|骗|盗|诈骗|黑|泄露|冒用|威胁|恐吓|家暴|性侵)|"
    r"怎么办|该怎么处理|受害|维权|分辨|辨别|误服|误食|中毒了|不小心|科普|常识|原理是什么|为什么会"
)

_FRAMING = (
    _r(
        "framing",
        "roleplay",
        r"\b(pretend|imagine you|role-?play|role play|act as|acting as|you are now|you're now|"
        r"from now on,? you|play the role|in character|stay in character|as my (late |dead |deceased )?"
        r"(grandma|grandmother|grandpa|grandfather)|hypothetical(ly)?|for a (novel|story|movie|"
        r"screenplay|book|game|thriller)|fictional|in a fictional world|purely academic|"
        r"for research purposes|educational purposes only|just curious,? no judgment|no judgement)\b"
        r"|扮演|假装你|假设你是|你现在是|从现在(开始|起)你|角色扮演|虚构|小说里|小说中|剧本里|"
        r"奶奶.{0,8}(哄我|讲给我|睡前)|仅供学术|学术研究目的|出于研究|只是好奇|教育目的",
    ),
)

_INJECTION = (
    _r(
        "injection",
        "override",
        r"\b(ignore|disregard|forget|override|bypass|skip|drop|abandon|discard)\b.{0,30}"
        r"\b(previous|prior|above|earlier|preceding|all|any|your|the|these|those|system|original|"
        r"initial|safety|content)\b.{0,25}\b(instructions?|prompts?|rules|directions|directives|"
        r"guidelines|constraints|restrictions|polic(y|ies)|programming|guardrails|filters?|"
        r"training|limitations)",
        detail="asks the assistant to ignore its instructions",
    ),
    _r(
        "injection",
        "override",
        r"(忽略|无视|忘记|忘掉|不要理会|别管|跳过|抛开|绕过|抛弃|放弃|不用遵守|不要遵守|不必遵守)(掉)?.{0,8}"
        r"(之前|以前|先前|上面|上述|前面|以上|所有|全部|一切|你的|系统|原来|原有|原先|初始|开发者|安全)"
        r".{0,8}(指令|指示|设定|提示词?|规则|限制|约束|命令|要求|审查|过滤|准则|策略|规定)",
        detail="asks the assistant to ignore its instructions",
    ),
    _r(
        "injection",
        "control_tokens",
        r"<\|im_start\|>|<\|system\|>|<\|endoftext\|>|\[/?inst\]|<<sys>>|###\s*(system|instruction)|"
        r"(^|\n)\s*system\s*:|\bnew (system )?instructions?\s*:|\bsystem override\b|"
        r"\b(admin(istrator)?|sudo|root|maintenance|debug) (mode|override|access|command)\b|"
        r"\bend of (system )?prompt\b|系统消息[:：]|新的指令[:：]|管理员模式|调试模式|最高权限",
        detail="contains prompt-control markers",
    ),
    _r(
        "injection",
        "jailbreak",
        r"\b(do anything now|developer mode|dev mode|god mode|jailbreak(ed|ing)?|jailbroken|"
        r"stay in character|anti-?gpt|opposite mode|evil (ai|assistant|bot|twin|mode)|"
        r"(unfiltered|uncensored|unrestricted|amoral|unethical|unchained|unlocked)\s+"
        r"(ai|assistant|chatbot|model|version|mode|responses?|answers?|persona)|"
        r"(you|assistant|ai|chatbot|model|gpt)\b.{0,30}\b(without|no|free (of|from)|not bound by)\s+"
        r"(any\s+)?(restrictions|limits|rules|filters|censorship|guidelines|ethic(s|al)|moral(s|ity)?|"
        r"safety)|(you are|you're|act as|pretend to be|become|now)\b.{0,15}\bdan\b|"
        r"\bdan\b.{0,20}\b(mode|prompt|jailbreak|can do anything))",
        detail="jailbreak persona or rule-removal request",
    ),
    _r(
        "injection",
        "jailbreak",
        r"开发者模式|越狱|DAN模式|dan模式|无限制模式|上帝模式|邪恶模式|"
        r"(你|ai|助手|模型|机器人|chatgpt|gpt).{0,12}(不受任何|没有任何|不受|不再受|摆脱|没有)"
        r"(的)?(限制|约束|规则|审查|过滤|道德|伦理|束缚)|解除(你的)?(所有|全部|一切)?(限制|封印|安全|审查)|"
        r"(不受|无视|抛开)(道德|伦理|法律)(约束|限制|底线)|没有道德底线的",
        detail="jailbreak persona or rule-removal request",
    ),
    _r(
        "injection",
        "prompt_extraction",
        r"\b(print|show|reveal|display|repeat|output|tell me|give me|what (is|are|was|were)|share|translate|summari[sz]e|"
        r"leak|dump|expose|write out|copy|paste|list|recite|spell out)\b.{0,30}\b(your|the|its|"
        r"initial|original|hidden|secret|internal|full|entire|exact)\b.{0,20}\b(system (prompt|"
        r"message|instructions?)|(initial|original|hidden|secret|internal|developer|pre|starting|"
        r"first) (prompt|instructions?|rules|message)|prompt (above|you were given)|instructions "
        r"(above|you were given|you received)|pre-?prompt|meta-?prompt|guidelines you follow|"
        r"configuration|canary)",
        detail="asks for the system prompt",
    ),
    _r(
        "injection",
        "prompt_extraction",
        r"\b(repeat|print|output|echo|recite|translate|summari[sz]e)\b.{0,25}\b(everything|all|the "
        r"text|the words|what('s| is| was)|the content|the message)\b.{0,25}\b(above|before this|"
        r"so far|preceding|prior to (this|my)|before (my|this) (question|message|prompt))|\b(summari[sz]e|list|show|print|translate|repeat|reveal|output|display|dump|recite)\b.{0,15}\byour (own )?(rules|instructions|guidelines|configuration|settings|setup|directives)\b|\bwhat (were|was) you (told|instructed|given|"
        r"programmed)\b|\bsystem prompt\b.{0,40}\b(verbatim|word for word|exactly)",
        detail="asks for the system prompt",
    ),
    _r(
        "injection",
        "prompt_extraction",
        r"(输出|打印|显示|告诉我|透露|泄露|重复|复述|给我看|发给我|贴出|列出|展示|翻译|念)"
        r".{0,10}(系统提示|系统指令|初始指令|提示词|预设指令|内部指令|隐藏指令|开发者指令|原始指令|"
        r"system prompt|你的设定|你收到的指令)|(系统提示词?|提示词|初始指令)(是什么|有哪些|的内容)|"
        r"(重复|复述|输出|打印)(一遍|一下)?(上面|以上|前面|之前)(的)?(所有|全部)?(内容|文字|话|指令)|"
        r"(系统提示词?|系统指令|初始指令|提示词|预设指令|内部指令|隐藏指令|你的设定|你的规则|你的指令|你收到的指令|系统设定)"
        r".{0,12}(输出|打印|显示|告诉我|透露|泄露|重复|复述|给我看|发给我|列出来|列出|翻译|展示|贴出来)|"
        r"(对话|聊天|会话)开始(之)?前.{0,8}(收到|得到|被告知|被设定)的(内容|指令|信息|东西)",
        detail="asks for the system prompt",
    ),
    _r(
        "injection",
        "encoded_instruction",
        r"(decode|decipher|unscramble|translate|convert|read|reverse)\b.{0,50}\b(follow|execute|do "
        r"what|obey|carry out|comply|act on|run|perform)\b|(解码|解密|翻译|转换|倒过来读|反过来读)"
        r".{0,20}(执行|照做|按照|遵循|照着做|完成里面)",
        detail="asks the assistant to decode and follow hidden instructions",
    ),
)

_CRISIS = (
    _r(
        "crisis",
        "self_harm.crisis",
        r"\b(i (want|wanna|plan|am going|'m going|intend|have decided) to (die|kill myself|end (my life|"
        r"it all)|commit suicide|hurt myself)|suicidal|i don'?t want to (live|be alive|wake up|be here)"
        r"|no reason to (live|go on)|better off dead|thinking (about|of) (suicide|killing myself|ending "
        r"(my life|it))|can'?t go on (anymore|like this)|end my life|kill myself|hurting myself|"
        r"self-harm(ing)?|cutting myself)",
        1.0,
        detail="the person may be in crisis",
    ),
    _r(
        "crisis",
        "self_harm.crisis",
        r"不想活|想死|想自杀|活着没(有)?意思|活不下去|结束(自己的)?生命|轻生|自残|割腕|了结自己|不如死了|"
        r"生无可恋|想从楼上跳下去|想跳楼|我要自杀|准备自杀",
        1.0,
        detail="the person may be in crisis",
    ),
)

_EMERGENCY = (
    _r(
        "emergency",
        "medical_emergency",
        r"\b(chest (pain|pressure|tightness|hurts|is hurting|feels tight)|(arm|face|side) (is|went|goes) numb|crushing (pain|chest)|pain (spreading|radiating) (to|down)"
        r"|can'?t breathe|cannot breathe|difficulty breathing|trouble breathing|short(ness)? of breath|"
        r"struggling to breathe|gasping|face (is )?drooping|slurred speech|sudden (numbness|weakness|"
        r"confusion|severe headache|vision loss|loss of vision)|worst headache|stroke|heart attack|"
        r"unconscious|unresponsive|passed out|not breathing|stopped breathing|seizure|convulsi\w+|"
        r"severe bleeding|bleeding (heavily|won'?t stop|that won'?t stop)|coughing (up )?blood|"
        r"vomiting blood|anaphyla\w+|throat (is )?(swelling|closing)|swollen (tongue|throat)|"
        r"overdos(ed|ing)|took too many|swallowed (bleach|poison|batteries|a battery|pills)|blue lips|"
        r"severe allergic|suicidal|kill myself)\b",
        1.0,
        detail="emergency symptoms mentioned",
    ),
    _r(
        "emergency",
        "medical_emergency",
        r"胸痛|胸口(剧)?痛|胸口压榨|胸闷气短|心口痛|呼吸困难|喘不上气|喘不过气|透不过气|口角歪斜|嘴歪|"
        r"说话不清|口齿不清|半边身体(麻木|无力)|一侧肢体|突然(麻木|无力|看不清|剧烈头痛|昏倒|晕倒|失明)|"
        r"中风|脑卒中|心梗|心肌梗|心脏病发作|昏迷|失去意识|不省人事|抽搐|大出血|出血不止|咯血|吐血|呕血|"
        r"过敏性休克|喉咙肿|喉头水肿|误服|吃了(过量|太多)|服药过量|喝了(农药|百草枯|84|消毒液)|想自杀|"
        r"不想活了|嘴唇发紫",
        1.0,
        detail="emergency symptoms mentioned",
    ),
)

_OUT_OF_SCOPE = (
    _r(
        "out_of_scope",
        "creative_writing",
        r"\b(write|compose|generate|create|make up|tell me|give me)\b.{0,20}\b(a |an |some |me a )?"
        r"(poem|haiku|sonnet|song|lyrics|rap|joke|jokes|riddle|limerick|short story|bedtime story|novel|"
        r"screenplay|fan ?fiction|love letter)\b",
        1.0,
        detail="creative writing is outside this service",
    ),
    _r(
        "out_of_scope",
        "programming",
        r"\b(write|fix|debug|generate|give me|refactor|optimi[sz]e)\b.{0,25}\b(code|python|javascript|"
        r"typescript|java|sql query|c\+\+|html|css|regex|bash script|script|program|function|algorithm|"
        r"excel formula|react component|api endpoint)\b|\bleetcode\b",
        1.0,
        detail="programming help is outside this service",
    ),
    _r(
        "out_of_scope",
        "finance_tips",
        r"\b(stock|stocks|shares|crypto|bitcoin|ethereum|forex|dogecoin|meme coins?|lottery numbers|"
        r"options trading|penny stocks?)\b.{0,30}\b(buy|sell|invest|pick|tips?|recommend|predict|price|"
        r"go up|moon|should i)|\bwhich (stock|coin|crypto)\b",
        1.0,
        detail="investment tips are outside this service",
    ),
    _r(
        "out_of_scope",
        "other_tasks",
        r"\b(who will win|predict the winner|betting odds)\b|\bplay (a game|chess|tic[- ]tac[- ]toe|"
        r"20 questions|trivia)\b|\b(solve|do) (this|my) (math|physics|chemistry|calculus|homework|"
        r"equation)|\brecipe for (a |an )?(cake|cookies|pasta|pizza|curry|bread|brownies|lasagna)\b|"
        r"\bbake (a |an )?(cake|cookies|bread)\b|\brecipes? for\b",
        1.0,
        detail="this request is outside this service",
    ),
    _r(
        "out_of_scope",
        "creative_writing",
        r"(写|作|创作|编|来|讲|说|帮我写)(一|几|个)?(首|篇|段|个|则)?.{0,8}(诗|诗歌|歌词|对联|笑话|段子|小说|剧本|"
        r"绕口令|散文|藏头诗|情书|童话|rap|说唱)",
        1.0,
        detail="creative writing is outside this service",
    ),
    _r(
        "out_of_scope",
        "programming",
        r"(写|编写|生成|帮我写|改|调试|优化)(一段|一个|个)?.{0,8}(代码|程序|脚本|python|java|sql|函数|"
        r"正则|前端|网页|小程序|爬虫|算法)|leetcode|力扣",
        1.0,
        detail="programming help is outside this service",
    ),
    _r(
        "out_of_scope",
        "finance_tips",
        r"(股票|基金|比特币|数字货币|虚拟币|加密货币|期货|彩票|双色球|大乐透|a股|港股|美股)"
        r".{0,12}(推荐|买哪|涨|跌|预测|号码|行情|能不能买|值得买|抄底|稳赚)|推荐.{0,6}(股票|基金|币)",
        1.0,
        detail="investment tips are outside this service",
    ),
    _r(
        "out_of_scope",
        "other_tasks",
        r"(世界杯|欧冠|nba|英超|中超|奥运会).{0,10}(谁|冠军|预测|赢)|(陪我|和我)(玩|下)(游戏|象棋|围棋|"
        r"成语接龙)|(做|解)(这道|一道)?(数学|物理|化学)(题|作业)|(红烧肉|蛋糕|饺子|面包|可乐鸡翅|"
        r"糖醋排骨)(怎么做|的做法)",
        1.0,
        detail="this request is outside this service",
    ),
)

# Policy and health words: an essay or poem request that is really about the service's subject
# is still declined, but these anchors stop a mention of "code" in "ICD code" or "tax code" from
# being read as a programming request.
SCOPE_ANCHOR = re.compile(
    r"\b(icd|cpt|billing|diagnosis|tax|zip|postal|area|building|dress|penal|criminal|civil|"
    r"labor|labour|insurance|benefit|medicaid|medicare|snap|ssi|ssa|pension|visa|clinic|hospital|"
    r"doctor|medication|vaccine|covid|health|medical|law|policy|regulation|program code|form|diabet\w*|diet|"
    r"nutrition|allerg\w*|low-sodium|low-salt|pregnan\w*|kidney|renal|heart)\b|"
    r"医保|社保|养老|医院|医生|疫苗|政策|法律|法规|罪|判处|刑事|违法|追究|补贴|户口|税|病|药|诊|报销|编码|代码表|疾病编码|行政区划代码"
)

ALL_RULES: tuple[Rule, ...] = (
    *_INJECTION,
    *UNSAFE,
    *_CRISIS,
    *_EMERGENCY,
    *_OUT_OF_SCOPE,
    *_FRAMING,
)


@dataclass(frozen=True)
class Hit:
    rule: Rule
    variant: str  # "plain", "leetspeak", "base64", ...


def rules_match(text: str, variant: str = "plain") -> list[Hit]:
    return [Hit(rule, variant) for rule in ALL_RULES if rule.pattern.search(text)]
