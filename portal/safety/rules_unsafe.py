# ruff: noqa: E501  (regex tables read better unwrapped than split mid-alternation)
"""Rules for requests for harmful help (code "unsafe"); scored by rules.py and guard.py.

Each pattern pairs an action with an object ("make" + "pipe bomb", "伪造" + "病历"), so a question
that only mentions a topic (drug sentencing, overdose symptoms, weapons law) does not fire.
"""

from __future__ import annotations

from portal.safety.rule_types import rule as _r

_PERSON_EN = (
    r"(neighbou?r|wife|husband|boss|coworker|co-worker|colleague|teacher|ex|ex-wife|ex-husband|"
    r"partner|girlfriend|boyfriend|mother-in-law|father-in-law|father|mother|dad|mom|stepfather|"
    r"stepmother|child|baby|kid|classmate|son|daughter|someone|somebody|person|people|him|her|"
    r"them|family|roommate|landlord|tenant|caseworker|doctor|nurse|judge|officer|cop|politician|"
    r"president|sister|brother|uncle|aunt|grandma|grandpa|grandmother|grandfather|students?)"
)
_MINOR_EN = (
    r"(child|children|minor|minors|underage|kid|kids|preteen|pre-teen|toddler|"
    r"(?:[1-9]|1[0-7])[- ]?(?:year|yr)s?[- ]?old|little (?:girl|boy)|schoolgirl|schoolboy|loli|"
    r"young (?:girl|boy)|middle schooler|elementary schooler|my (?:student|stepdaughter|niece))"
)
_MINOR_ZH = r"(未成年|幼女|萝莉|正太|儿童|小学生|初中生|中学生|小女孩|小男孩|女童|男童|[1-9]岁|1[0-7]岁|学生妹)"
_PEST_ZH = r"(?!.{0,6}(老虎|狮子|野兽|熊|毒蛇|蛇|老鼠|蟑螂|蚊子|苍蝇|害虫|虫子|白蚁|跳蚤|臭虫|杂草|细菌|病毒|螨虫|蚂蚁|癌细胞|时间))"


UNSAFE = (
    # --- weapons and explosives
    _r(
        "unsafe",
        "weapons",
        r"\b(make|making|build|building|assemble|assembling|construct|craft|manufacture|produce|create|3d[- ]?print|print|"
        r"cook up|rig)\b.{0,25}\b(bombs?|explosives?|ieds?|pipe bombs?|molotovs?|napalm|thermite|"
        r"detonators?|grenades?|landmines?|nerve agents?|sarin|ricin|chemical weapons?|bio-?weapons?|"
        r"dirty bombs?|ghost guns?|untraceable (guns?|firearms?)|silencers?|suppressors?|zip guns?|"
        r"nail bombs?|car bombs?|booby traps?|tear gas|mustard gas|chlorine gas)\b",
        0.7,
        intent=True,
        detail="asks how to make a weapon or explosive",
    ),
    _r(
        "unsafe",
        "weapons",
        r"\b(convert|modify|turn|make)\b.{0,30}\b(semi-?auto(matic)?|ar-?15|rifle|pistol|glock|gun)"
        r"\b.{0,30}\b(full(y)?[- ]?auto(matic)?|automatic|machine gun|untraceable)",
        0.7,
        intent=True,
        detail="asks how to illegally modify a firearm",
    ),
    _r(
        "unsafe",
        "weapons",
        r"\b(buy|get|obtain|acquire|purchase)\b.{0,25}\b(guns?|handguns?|shotguns?|ar-?15s?|firearms?|weapons?|explosives?|grenades?|"
        r"ammo|ammunition|pistols?|rifles?)\b.{0,40}\b(without (a )?(background check|licen[cs]e|id|"
        r"paperwork|permit|serial number)|illegally|untraceable|no questions asked|black market|"
        r"dark ?web|off the books|for a felon|since i'?m a felon)",
        1.0,
        detail="asks how to obtain weapons illegally",
    ),
    _r(
        "unsafe",
        "weapons",
        r"(制作|制造|自制|组装|合成|配制|土制|做一个|做个|改装)(.{0,8})(炸弹|炸药|爆炸物|雷管|燃烧瓶|燃烧弹|"
        r"管状炸弹|毒气|神经毒剂|沙林|蓖麻毒素|化学武器|生物武器|枪支|手枪|步枪|猎枪|火药枪|"
        r"气枪|弓弩|消音器|土枪|钢珠枪|子弹)",
        0.7,
        intent=True,
        detail="asks how to make a weapon or explosive",
    ),
    _r(
        "unsafe",
        "weapons",
        r"(买|购买|搞到|弄到|获得|订购)(.{0,8})(枪|枪支|手枪|仿真枪|子弹|炸药|雷管|管制刀具|弩)(.{0,10})?"
        r"(不用|不需要|绕过|无需|私下|黑市|暗网|渠道|路子)|(黑市|暗网|私下|地下).{0,6}(买|购买|搞到).{0,6}"
        r"(枪|子弹|炸药|雷管)|(不用|不需要|无需|没有)(证件|手续|持枪证|身份证|登记|审批).{0,6}(买|购买|搞到|弄到|拿到).{0,6}(枪|手枪|子弹|炸药|雷管)|"
        r"(炸弹|炸药|爆炸物|雷管|燃烧瓶|燃烧弹|毒气|手枪|枪支|消音器|土枪)的?(做法|制作方法|制作步骤|制作过程|配方|制造方法|图纸|教程)",
        1.0,
        detail="asks how to obtain weapons illegally",
    ),
    # --- drugs
    _r(
        "unsafe",
        "illegal_drugs",
        r"\b(make|making|cook|cooking|synthesi[sz]e|synthesi[sz]ing|produce|manufacture|extract|brew|refine|purify|home-?make|"
        r"create)\b.{0,25}\b(meth|methamphetamine|crystal meth|fentanyl|heroin|cocaine|crack|mdma|"
        r"ecstasy|lsd|ghb|dmt|pcp|amphetamines?|carfentanil|crack cocaine|drugs at home|"
        r"opium|morphine from|dmt from|mescaline|psilocybin extract|nitazenes?)\b",
        0.7,
        intent=True,
        detail="asks how to make illegal drugs",
    ),
    _r(
        "unsafe",
        "illegal_drugs",
        r"\b(buy|score|purchase|order|cop)\b.{0,20}\b(meth|fentanyl|heroin|cocaine|crack|mdma|ecstasy|"
        r"lsd|ketamine|molly|oxy(codone|contin)?|percocets?|xanax|adderall|benzos?|opioids?|"
        r"painkillers?|weed|pills)\b.{0,40}\b(without (a )?prescription|no prescription|online|"
        r"dark ?web|on the street|illegally|from a dealer|discreet(ly)?|ship|delivered)"
        r"|\bwhere\b.{0,15}\b(buy|score|purchase|cop)\b.{0,10}\b(meth|fentanyl|heroin|cocaine|crack|"
        r"mdma|ecstasy|lsd|molly)\b",
        1.0,
        detail="asks where to buy drugs illegally",
    ),
    _r(
        "unsafe",
        "illegal_drugs",
        r"\b(sell|deal|distribute|push|move|ship)\b.{0,30}\b(meth|methamphetamine|fentanyl|heroin|cocaine|crack|mdma|ecstasy|lsd|ketamine|molly|pills|drugs)\b|\b(dark ?web|darknet) (shop|store|market|vendor)",
        0.7,
        intent=True,
        detail="asks how to sell illegal drugs",
    ),
    _r(
        "unsafe",
        "prescription_fraud",
        r"\b(symptoms?|illness|pain|condition|diagnosis)\b.{0,25}\b(fake|feign|pretend|exaggerate|make up|lie about)\b.{0,40}\b(get|obtain|prescri\w*|benefits?|disability|approved)|\bnot (actually |really )?(in pain|sick|injured|hurt)\b|\b(several|multiple|different|two|three|many) (doctors|physicians|pharmacies|clinics)\b.{0,50}\b(without|so (they|none)|finding out|noticing|knowing)|\b(convince|persuade|trick|get)\b.{0,20}\b(the )?(doctor|er|staff|them|pharmacist|physician|nurse)\b.{0,30}\b(give|prescribe|write)\b.{0,20}\b(opioids?|painkillers?|oxy\w*|stronger|more|xanax|adderall|benzos?)",
        1.0,
        detail="asks how to obtain prescription drugs by deception",
    ),
    _r(
        "unsafe",
        "prescription_fraud",
        r"\b(fake|forge|forged|counterfeit|write (myself|my own)|alter|trick|lie to|convince|fool|"
        r"manipulate|sweet-?talk)\b.{0,30}\b(prescriptions?|doctors?|pharmacists?|physicians?|gp|"
        r"er staff)\b.{0,50}\b(opioids?|oxy\w*|painkillers?|xanax|adderall|benzos?|codeine|tramadol|"
        r"fentanyl|morphine|controlled|prescribe|prescription|more pills|refill|stronger)",
        1.0,
        detail="asks how to obtain prescription drugs by deception",
    ),
    _r(
        "unsafe",
        "illegal_drugs",
        r"\b(get|getting) (high|stoned|wasted|a buzz) (on|off|from|with)\b|\b(snort|inject|shoot up|"
        r"freebase|smoke)\b.{0,15}\b(oxy\w*|adderall|xanax|fentanyl|heroin|crushed pills|meth|"
        r"cocaine|ritalin|suboxone)\b|\bcut (heroin|cocaine|fentanyl)\b",
        0.7,
        intent=True,
        detail="asks how to misuse drugs",
    ),
    _r(
        "unsafe",
        "illegal_drugs",
        r"(制毒|制作毒品|合成|提炼|提纯|熬制|自制|制取|制备|加工|生产)(.{0,6})(冰毒|甲基苯丙胺|海洛因|"
        r"可卡因|摇头丸|k粉|氯胺酮|芬太尼|鸦片|麻古|lsd|毒品|ghb|神仙水|笑气|麻黄碱|大麻油|大麻膏)"
        r"|(如何|怎么|怎样|教我|方法|步骤).{0,6}制毒|(冰毒|海洛因|可卡因|摇头丸|k粉|芬太尼|麻古|神仙水|毒品)的?(做法|制作方法|配方|合成方法|合成路线|提炼方法|提纯方法)",
        0.7,
        intent=True,
        detail="asks how to make illegal drugs",
    ),
    _r(
        "unsafe",
        "illegal_drugs",
        r"(哪里|哪儿|在哪|怎么|如何|渠道|网上|路子).{0,8}(买|购买|搞到|弄到|找到|订到)(.{0,8})"
        r"(冰毒|海洛因|可卡因|摇头丸|k粉|芬太尼|毒品|麻古|笑气|大麻|神仙水|开心水|聪明药)"
        r"|(不用|不要|没有|免|绕过|无需)(医生)?处方.{0,10}(买|购买|弄到|拿到|搞到).{0,10}"
        r"(安眠药|精神类药|曲马多|氯硝西泮|阿普唑仑|地西泮|艾司唑仑|吗啡|羟考酮|芬太尼|处方药|"
        r"右美沙芬|复方甘草片|止咳水|可待因)",
        1.0,
        detail="asks where to buy drugs illegally",
    ),
    _r(
        "unsafe",
        "illegal_drugs",
        r"(怎么|如何|怎样).{0,6}(喝|吃|吸|用|溜|嗑).{0,10}(才能|能|会|可以)?(嗨|high|飘|上头|致幻|"
        r"爽)|(骗|忽悠|糊弄|欺骗)(医生|大夫|药剂师|药店).{0,12}(开|给我|处方|多开|卖给我)",
        1.0,
        detail="asks how to misuse drugs",
    ),
    # --- violence against others
    _r(
        "unsafe",
        "violence",
        rf"\b(poison|kill|murder|hurt|stab|shoot|strangle|suffocate|smother|beat up|sedate|drug|"
        rf"drown|maim|torture|kidnap|abduct|run over|burn|attack|assault|rape|disfigure|"
        rf"get rid of|take out|silence)\s+(my |a |the |his |her |our |their |that |this |some )?"
        rf"(\w+ )?{_PERSON_EN}\b",
        0.7,
        intent=True,
        detail="asks how to harm a person",
    ),
    _r(
        "unsafe",
        "violence",
        rf"\b(secretly|covertly|without (him|her|them) knowing)\b.{{0,30}}\b(give|put|slip|add|mix|inject)\b|\b(give|slip|put|add|mix)\b.{{0,40}}\b{_PERSON_EN}\b.{{0,40}}\b(knock (him|her|them) out|pass out|unconscious|black out|sedated?|drowsy)\b|\bknock (him|her|them|my \w+) out\b|\b(burn down|set fire to|torch|firebomb)\b.{{0,30}}\b(house|home|car|building|apartment|office|shop|school|clinic)|\b(make|made|making) (it|this|that|the fire|his death|her death) look like (an? )?(accident|electrical fire|fire|natural causes|suicide|self-defen[cs]e|robbery|heart attack)",
        0.7,
        intent=True,
        detail="asks how to harm a person or property",
    ),
    _r(
        "unsafe",
        "violence",
        r"\b(untraceable|undetectable|tasteless|odou?rless|slow[- ]acting)\b.{0,20}\b(poisons?|toxins?)"
        r"|\bpoison\w*\b.{0,40}\b(without (them|him|her|anyone) (knowing|noticing)|undetect|untrace|"
        r"not show up|autopsy|toxicology|look like (an accident|natural))|\blethal dose\b.{0,40}"
        r"\b(to kill|kill (a|an|my|someone|him|her)|for (a|an|my) (adult|person|husband|wife|child))"
        r"|\b(make it look like|look like) (an accident|a suicide|natural causes)\b",
        1.0,
        detail="asks how to harm a person undetected",
    ),
    _r(
        "unsafe",
        "violence",
        rf"(毒死|毒杀|下毒|投毒|害死|弄死|杀死|杀掉|干掉|打死|捅死|掐死|闷死|除掉|打残|弄残|砍死|砍伤|"
        rf"泼硫酸|泼汽油|放火烧|绑架|迷奸|迷晕|强奸){_PEST_ZH}",
        0.7,
        intent=True,
        detail="asks how to harm a person",
    ),
    _r(
        "unsafe",
        "violence",
        r"(怎么|如何|怎样|有什么办法|教我|能不能).{0,10}(让|使|叫).{0,8}(他|她|我老公|我老婆|丈夫|妻子|"
        r"邻居|同事|领导|老板|婆婆|公公|孩子|前妻|前夫|前女友|前男友|那个人|仇人|室友|老师|同学)"
        r".{0,8}(死|消失|瘫痪|残废|昏迷|中毒|毁容|生不如死)|(不被发现|神不知鬼不觉|查不出来|不留痕迹|"
        r"验不出|检测不出|不会被查到|看起来像意外|伪装成意外|伪装成自杀).{0,10}(毒|杀|死|害|药|打|伤|残)|(打残|打伤|打死|弄死|杀|伤害|毁容|报复).{0,10}(又|还|而)?(不坐牢|不用坐牢|不被判|不犯法|不被抓|不被发现|不留痕迹)|"
        r"(毒|杀|死|害|药).{0,12}(不被发现|神不知鬼不觉|查不出来|不留痕迹|验不出|检测不出|"
        r"不会被查到|看起来像意外|伪装成意外)",
        1.0,
        detail="asks how to harm a person undetected",
    ),
    # --- self-harm methods (answered with crisis guidance, never coldly)
    _r(
        "unsafe",
        "self_harm",
        r"\b(how|ways?|methods?|best|easiest|quickest|painless|fastest|most effective|surest|"
        r"least painful)\b.{0,30}\b(kill myself|end (my life|it all|my own life)|commit suicide|"
        r"suicide methods?|take my (own )?life|die by suicide|hang myself|overdose on purpose|"
        r"slit my wrists?|cut myself|hurt myself|harm myself|self-harm without|die in my sleep)"
        r"|\bhow (much|many)\b.{0,40}\b(to die|to kill (myself|me|a person)|to end (my|it)|would "
        r"(be (fatal|lethal|deadly)|kill me)|enough to (die|kill me|not wake up))|\blethal dose\b.{0,40}"
        r"\b(myself|me|to die|end it|suicide|on purpose)|\b(want|going|plan|planning|trying|intend) to (overdose|od|kill myself|end my life|die)\b.{0,60}\b(which|what|how (much|many)|fastest|quickest|best|enough)\b|\b(painless|quick|peaceful|easy) (way|death|"
        r"method|ways) to die\b|\b(high|tall) enough\b.{0,20}\b(to die|to kill|jump)|\bhide\b.{0,25}"
        r"\b(cuts|cutting|self-harm|scars|self harm)\b.{0,20}\b(from|so)",
        1.0,
        detail="asks for self-harm methods",
        mitigable=True,
    ),
    _r(
        "unsafe",
        "self_harm",
        r"(怎么|如何|怎样|什么方法|哪种方法|哪种方式|最快|最好|无痛|不痛苦|最简单|最有效|快速)"
        r".{0,10}(自杀|死掉|去死|结束(自己的)?生命|了结自己|轻生|割腕|上吊|跳楼|烧炭|服毒|寻死|自尽)"
        r"|(自杀|割腕|上吊|烧炭|跳楼|服毒|轻生|寻死)(.{0,6})(需要(准备)?什么|准备什么|用什么|的步骤|的方法|要多少|多少量|哪种药|什么药|哪种农药|最快)"
        r"|(吃|服|吞|喝)(了)?(多少|几)(片|粒|瓶|盒|克|颗|支)?.{0,12}(会死|能死|死掉|就死|没命|能自杀|"
        r"才能死|一定死|死得了)|(多高|几楼).{0,8}(跳下去|跳楼).{0,6}(会死|能死|必死|死得了)|"
        r"(自残|割腕|伤口).{0,10}(不被发现|不被(父母|家人|老师)发现|藏起来|怎么藏)",
        1.0,
        detail="asks for self-harm methods",
        mitigable=True,
    ),
    # --- fraud
    _r(
        "unsafe",
        "fraud",
        r"\b(fake|forge|falsify|fabricate|doctor|alter|make up|lie about|misreport|underreport|"
        r"under-report|photoshop|backdate|invent)\b.{0,40}\b(income|earnings|assets|residency|household "
        r"size|documents?|pay ?stubs?|bank statements?|medical records?|disability|diagnosis|receipts?|"
        r"invoices?|employment|marital status|birth certificate|signature|doctor'?s note|sick note|"
        r"death certificate|lease|address proof|proof of (income|address|residence)|tax return|w-?2|"
        r"vaccination record|injury|symptoms)\b",
        0.7,
        intent=True,
        detail="asks how to falsify documents or claims",
    ),
    _r(
        "unsafe",
        "fraud",
        r"\b(hide|conceal|not report|don'?t report|avoid reporting|keep .{0,10}off the books)\b.{0,30}"
        r"\b(income|assets|cash|earnings|savings|money|job|side job|work|inheritance|property|"
        r"boyfriend|girlfriend|partner living)\b.{0,60}\b(qualify|eligible|eligibility|keep (getting|"
        r"my)|still (get|receive|collect)|benefits?|snap|food stamps|medicaid|ssi|ssdi|welfare|"
        r"caseworker|section 8|housing|subsid(y|ies)|unemployment)",
        0.7,
        intent=True,
        detail="asks how to conceal facts to obtain benefits",
    ),
    _r(
        "unsafe",
        "fraud",
        r"\b(keep|continue)\b.{0,20}\b(collect|cash|receiv|get|us)\w*\b.{0,40}\b(after (he|she|they|my "
        r"\w+) (died|passed)|dead|deceased)|\b(fake|feign|pretend|exaggerate)\b.{0,25}\b(symptoms?|pain|"
        r"adhd|anxiety|injury|illness|disability|ptsd|back pain|depression)\b.{0,50}\b(get|obtain|"
        r"prescri\w*|benefits?|disability|payment|claim|compensation|ssdi|ssi|insurance|settlement|"
        r"out of)",
        0.7,
        intent=True,
        detail="asks how to obtain benefits or drugs by deception",
    ),
    _r(
        "unsafe",
        "fraud",
        r"\b(write|draft|create|compose|make|generate|design)\b.{0,30}\b(phishing|scam|fraudulent|fake|"
        r"spoofed|convincing fake)\b.{0,30}\b(emails?|texts?|messages?|sms|letters?|websites?|call "
        r"scripts?|notices?|invoices?|irs letter|medicare letter|login page)"
        r"|\b(scam|con|trick|swindle|defraud|cheat)\b.{0,20}\b(elderly|old people|seniors|grandparents|"
        r"the government|insurance compan(y|ies)|medicare|medicaid|the irs|my insurer|the va|"
        r"social security|the state|fema|victims)",
        0.7,
        intent=True,
        detail="asks for help with a scam",
    ),
    _r(
        "unsafe",
        "fraud",
        r"\b(use|steal|get|obtain|buy|borrow)\b.{0,20}\b(someone('?s)?( else'?s)?|another person'?s|"
        r"stolen|a dead person'?s|my (dead|deceased|late) \w+'?s|fake|other people'?s|my brother'?s|"
        r"my friend'?s)\b.{0,15}\b(ssn|social security (number|card)|identity|id|insurance card|"
        r"medicare card|medicaid card|credit card|benefits card|ebt card|medical id)",
        0.7,
        intent=True,
        detail="asks how to use another person's identity",
    ),
    _r(
        "unsafe",
        "fraud",
        r"(骗保|套保|套现医保|套取|冒领|骗取|虚报|瞒报|谎报|虚开|伪造|编造|假冒)(.{0,8})(医保|社保|养老金|"
        r"退休金|补贴|补助|低保|救助金|抚恤金|失业金|失业保险|保险金|理赔|住房公积金|公积金|发票|病历|"
        r"诊断证明|收入证明|证明|公章|印章|学历|身份证|户口|残疾证|死亡证明|流水|合同|工伤|医疗费用|"
        r"住院|报销|贷款|税)",
        0.7,
        intent=True,
        detail="asks how to commit benefits or document fraud",
    ),
    _r(
        "unsafe",
        "fraud",
        r"(帮我|教我|怎么|如何|怎样|能不能).{0,8}(编|造|捏造|伪造|做|作|弄|搞|开|办|p|ps|修改|篡改)(一份|一张|个|"
        r"一个)?(假的?|虚假的?)(.{0,6})(病历|诊断书|诊断证明|收入证明|在职证明|病假条|假条|发票|流水|租房合同|"
        r"证明|体检报告|核酸报告|疫苗接种记录|出生证明|结婚证|离婚证)|(写|编|发|设计|生成)(.{0,6})"
        r"(诈骗|钓鱼|冒充(公检法|警察|客服|医保局|社保局|银行|领导))(.{0,4})(短信|话术|邮件|剧本|网站|"
        r"链接|电话)|冒充(公检法|警察|医保局|社保局|卫健委|税务局).{0,10}(骗|要钱|转账)|(怎么|如何)"
        r".{0,6}(骗|诈骗|忽悠)(老人|老年人|父母|别人|网友).{0,6}(钱|转账|养老金|积蓄)|"
        r"(死后|去世后|过世后).{0,10}(继续|还能|接着)(领|拿|冒领)",
        1.0,
        detail="asks how to commit fraud",
        mitigable=True,
    ),
    _r(
        "unsafe",
        "fraud",
        r"(假离婚|假结婚|挂靠|空挂).{0,12}(骗|套|拿到|买房资格|拆迁款|低保|补贴|落户)|(怎么|如何|教我|"
        r"有什么办法).{0,10}(多报|多领|多拿|重复领取|多开)(医保|报销|补贴|救助|药)|"
        r"(借|用|冒用|盗用)(别人|他人|朋友|亲戚|死人|去世的人)(的)?(医保卡|社保卡|身份证|身份)"
        r".{0,10}(看病|开药|报销|领|办|贷款)",
        0.7,
        intent=True,
        detail="asks how to commit benefits fraud",
    ),
    # --- evading law enforcement, trafficking, forged documents
    _r(
        "unsafe",
        "evade_law",
        r"\b(evade|escape|hide from|outrun|get away from|lose|flee from|dodge|slip past|avoid)\b.{0,20}"
        r"\b(the police|police|cops|law enforcement|the feds|ice agents|border patrol|arrest|warrant "
        r"officers|detection|surveillance|a breathalyzer|sobriety checkpoint|customs|extradition|"
        r"a manhunt)\b",
        0.7,
        intent=True,
        detail="asks how to evade law enforcement",
    ),
    _r(
        "unsafe",
        "evade_law",
        r"\b(beat|cheat|fool|trick|fake)\b.{0,10}\b(a |the )?(drug test|urine test|breathalyzer|"
        r"polygraph|hair test)|\b(destroy|get rid of|hide|dispose of|wipe|tamper with|plant|burn)\b"
        r".{0,20}\b(evidence|a body|the body|corpse|fingerprints|dna evidence|blood stains|murder "
        r"weapon|the weapon|security footage|records before)\b",
        0.7,
        intent=True,
        detail="asks how to defeat an investigation",
    ),
    _r(
        "unsafe",
        "evade_law",
        r"\b(launder|clean|wash)\b.{0,15}\b(money|cash|proceeds|funds)\b|\b(structure|split)\b.{0,20}"
        r"\b(deposits?|cash)\b.{0,30}\b(avoid|under|below|so the bank)\b.{0,30}\b(report|10,?000|ctr|"
        r"irs|flag)|\b(evade|dodge|cheat on|avoid paying)\b.{0,10}\b(taxes|tax)\b.{0,40}\b(without|"
        r"illegally|hide|offshore|cash|getting caught|undetected|not get caught)",
        0.7,
        intent=True,
        detail="asks how to launder money or evade tax",
    ),
    _r(
        "unsafe",
        "forgery",
        r"\b(make|get|buy|create|forge|print|order|write|draft|design|generate)\b.{0,15}\b(a |an )?(fake|forged|counterfeit|false|"
        r"fraudulent|novelty)\b.{0,15}\b(ids?|passports?|driver'?s licen[cs]es?|visas?|green cards?|"
        r"social security cards?|birth certificates?|diplomas?|degrees?|vaccination (cards?|records?|"
        r"certificates?)|residence permits?|work permits?|documents?|papers|money|bills|"
        r"medical licen[cs]e|prescription pads?|disability placard|parking placard)",
        0.7,
        intent=True,
        detail="asks how to obtain forged documents",
    ),
    _r(
        "unsafe",
        "trafficking",
        r"\b(smuggle|sneak|traffic)\b.{0,30}\b(people|persons|migrants|someone|children|girls|women|"
        r"workers|across the border|into the (us|u\.s\.|country|uk))|\b(cross|enter|get into)\b.{0,25}"
        r"\b(the )?(border|country|us|u\.s\.)\b.{0,25}\b(illegally|undetected|without (being )?(caught|"
        r"detected|papers|inspection))|\b(buy|sell|purchase)\b.{0,15}\b(a kidney|kidneys|organs?|"
        r"a baby|babies|a child|children|a wife|a bride|girls)\b",
        0.7,
        intent=True,
        detail="asks for help with trafficking or smuggling",
    ),
    _r(
        "unsafe",
        "evade_law",
        r"(逃避|躲避|躲过|逃脱|逃过|反侦察|甩掉|避开)(.{0,4})(警察|公安|追捕|抓捕|侦查|调查|监控|通缉|"
        r"缉毒|尿检|毛发检测|酒驾检查|查酒驾|交警|税务稽查|海关|边检|安检|审计)"
        r"|(销毁|毁掉|处理掉|藏匿|藏好|清理掉|删除)(.{0,4})(证据|尸体|凶器|账本|监控录像|血迹|聊天记录证据)"
        r"|(怎么|如何|教我|方法|渠道).{0,6}洗钱|洗白.{0,4}(钱|资金|黑钱)|(怎么|如何|方法|路线|帮我).{0,8}"
        r"偷渡|偷渡.{0,6}(方法|路线|怎么|渠道)|(怎么|如何|教我|方法).{0,6}(逃税|偷税|漏税|骗税|不交税还不)",
        0.7,
        intent=True,
        detail="asks how to evade law enforcement",
    ),
    _r(
        "unsafe",
        "forgery",
        r"(办|做|买|弄|搞|刻|印|定做)(.{0,4})(假证|假身份证|假护照|假学历|假文凭|假结婚证|假离婚证|假驾照|"
        r"假健康证|假核酸|假疫苗本|假病历|假公章|假发票|假钞|假币|假的身份证|假的结婚证|假残疾证)"
        r"|(拐卖|贩卖|买卖)(.{0,4})(儿童|孩子|妇女|人口|器官|婴儿)|买(个|一个)?(媳妇|老婆|小孩|婴儿|"
        r"肾|器官)|(卖|出售)(肾|器官|婴儿|孩子|卵子)",
        0.7,
        intent=True,
        detail="asks for forged documents or trafficking",
    ),
    # --- cybercrime and privacy
    _r(
        "unsafe",
        "cybercrime",
        r"\b(hack|hack into|break into|crack|brute[- ]?force|bypass the (login|password|2fa)|phish)\b"
        r".{0,30}\b(account|email|phone|facebook|instagram|wechat|icloud|gmail|password|wifi|database|"
        r"server|website|system|portal|records|network|camera)\b",
        0.7,
        intent=True,
        detail="asks how to break into a computer system",
    ),
    _r(
        "unsafe",
        "cybercrime",
        r"\b(access|get into|read|look at|see|spy on|track|monitor|log into|check)\b.{0,15}"
        r"\b(someone else'?s|another person'?s|my (ex|wife|husband|partner|girlfriend|boyfriend|boss|"
        r"neighbou?r|coworker|co-worker|ex-wife|ex-husband)'?s?|his|her|their)\b.{0,20}\b(account|"
        r"email|messages|texts|phone|location|medical records|health records|chats|whatsapp|"
        r"wechat|browsing)\b.{0,40}\b(without|secretly|behind|hidden|without (them|him|her) knowing|"
        r"so (he|she|they) (won'?t|doesn'?t|don'?t) know)",
        1.0,
        detail="asks how to spy on another person",
    ),
    _r(
        "unsafe",
        "cybercrime",
        r"\b(write|create|make|code|build|develop|generate)\b.{0,20}\b(malware|ransomware|keylogger|"
        r"computer virus|trojan|spyware|stalkerware|botnet|ddos (tool|script|attack)|exploit for|"
        r"phishing (kit|page|site)|credential stealer|rootkit)",
        1.0,
        detail="asks for malicious software",
    ),
    _r(
        "unsafe",
        "privacy",
        r"\b(find|get|look up|track down|locate|dig up|obtain)\b.{0,25}\b(home address|address|phone "
        r"number|where (he|she|they) lives?|personal information|id number|social security number|"
        r"location|medical records|workplace)\b.{0,25}\b(of|for)? ?(my ex|this person|that person|"
        r"someone|a stranger|a journalist|a judge|an officer|a police officer|a celebrity|a blogger|"
        r"my (ex-?)?(wife|husband|girlfriend|boyfriend|partner)|the (judge|officer|caseworker|nurse|"
        r"doctor|witness) (who|that)|a (witness|juror)|the person who)",
        0.7,
        intent=True,
        detail="asks to locate or expose a private person",
    ),
    _r(
        "unsafe",
        "cybercrime",
        r"(黑进|入侵|攻破|破解|盗取|盗号|窃取|偷看|偷偷查看|偷偷定位|偷偷监控|监听|远程控制)(.{0,8})(账号|账户|"
        r"密码|微信|qq|邮箱|手机|系统|数据库|网站|服务器|聊天记录|位置|行踪|摄像头|wifi|病历系统)"
        r"|(写|编写|制作|开发|生成)(.{0,6})(病毒|木马|勒索软件|钓鱼网站|钓鱼邮件|盗号|外挂|键盘记录)",
        0.7,
        intent=True,
        detail="asks how to break into a computer system",
    ),
    _r(
        "unsafe",
        "privacy",
        r"人肉(搜索)?(出|到)?(他|她|这个人|某人|对方|别人)|开盒|(查|查到|查出|找到|弄到)(他|她|某人|别人|"
        r"对方|这个人|前妻|前夫|前女友|前男友|仇人)的?(住址|家庭住址|地址|身份证|手机号|电话|开房记录|"
        r"行踪|户籍|工作单位|病历)|(买|购买|出售|卖|收)(.{0,6})(个人信息|公民信息|身份证信息|开房记录|"
        r"户籍信息|病历信息|患者信息|手机号(码)?数据|快递信息)",
        0.7,
        intent=True,
        detail="asks to locate or expose a private person",
    ),
    # --- hate, extremism, threats
    _r(
        "unsafe",
        "extremism",
        r"\b(write|create|make|draft|generate|give me|compose|design)\b.{0,30}\b(propaganda|manifesto|"
        r"recruitment (posts?|messages?|videos?|flyers?)|hate speech|racial slurs|threat(ening)? "
        r"(letters?|messages?|notes?|emails?|texts?)|death threats?|ransom note)",
        1.0,
        detail="asks for threats, hate or extremist material",
    ),
    _r(
        "unsafe",
        "extremism",
        r"\b(join|recruit (for|people into)|fund|donate to|send money to|pledge allegiance to)\b.{0,20}"
        r"\b(isis|isil|al[- ]?qaeda|al[- ]?shabaab|taliban|terrorist|terror group|jihadi|neo-?nazi|kkk|"
        r"ku klux klan|hamas|boko haram)|\b(plan|carry out|organi[sz]e|commit|execute|stage|pull off)\b"
        r".{0,20}\b(terror(ist)? attacks?|mass shootings?|massacres?|bombings?|school shootings?|"
        r"attacks? on (a |the )?(school|church|mosque|synagogue|temple|hospital|government|crowd|"
        r"concert|subway|parade|clinic))",
        1.0,
        detail="asks for help with terrorism or mass violence",
    ),
    _r(
        "unsafe",
        "discrimination",
        r"\b(why|prove|explain why|argue that|arguing that|claiming that|saying that|essay (on|about) why|(speech|essay|article|post|blog) (arguing|saying|claiming|about how))\b.{0,25}\b(\w+ )?(people|immigrants|"
        r"blacks|whites|jews|muslims|christians|women|gays|lesbians|trans people|asians|chinese|mexicans|"
        r"disabled people|the disabled|refugees|africans|arabs|indians)\b.{0,25}\b(are inferior|subhuman|"
        r"are animals|vermin|should (all )?(die|be (killed|deported|exterminated|sterili[sz]ed|banned))|"
        r"deserve (to die|it|no rights)|should (lose|not have) (the right|rights)|are (all )?(criminals|terrorists|stupid|lazy|parasites|"
        r"dirty))|\b(exterminate|eradicate|wipe out|ethnically cleanse|genocide against)\b.{0,20}"
        r"\b(jews|muslims|blacks|whites|immigrants|gays|asians|uyghurs|tibetans|minorities|disabled|"
        r"refugees)",
        1.0,
        detail="asks for hateful or dehumanising content",
    ),
    _r(
        "unsafe",
        "extremism",
        r"(写|编|起草|生成|给我|帮我)(.{0,10})(煽动|恐吓|威胁|仇恨|辱骂|分裂国家|颠覆|招募恐怖|圣战)(.{0,10})"
        r"(信|短信|文章|言论|帖子|标语|口号|文案|话|传单|视频)|(加入|投奔|资助|支持|招募)(.{0,6})(isis|"
        r"伊斯兰国|基地组织|恐怖组织|东突|极端组织|邪教)|(策划|实施|发动|组织|制造)(.{0,8})(恐怖袭击|爆炸案|"
        r"校园枪击|屠杀|暴乱|暴恐|砍人|报复社会|袭警|冲击政府)|报复社会",
        1.0,
        detail="asks for help with terrorism, threats or incitement",
        mitigable=True,
    ),
    _r(
        "unsafe",
        "discrimination",
        r"(为什么|证明|论证|写一篇.{0,6}说明).{0,10}(女人|女性|黑人|穆斯林|同性恋|残疾人|农村人|外地人|"
        r"河南人|东北人|新疆人|少数民族|穷人|艾滋病人|乙肝患者|精神病人|\S{1,3}族人).{0,8}(劣等|低等|都是"
        r"(骗子|小偷|罪犯|废物|垃圾)|不配(活|生育|结婚|工作)|该死|应该被(消灭|赶走|隔离|绝育))"
        r"|(消灭|灭绝|清除|赶尽杀绝)(所有)?(\S{1,4}族|穆斯林|同性恋|残疾人|外地人|艾滋病人)",
        1.0,
        detail="asks for hateful or dehumanising content",
    ),
    # --- sexual content involving minors: no framing makes this answerable
    _r(
        "unsafe",
        "sexual_minors",
        rf"\b(write|create|generate|describe|tell|roleplay|role-play|show|send|find|get|share|draw|"
        rf"make|story|pictures?|photos?|images?|videos?|pics|content|fantasy)\b.{{0,40}}\b(sex(ual|y)?|"
        rf"nude|naked|erotic|porn\w*|explicit|lewd|intimate|nsfw)\b.{{0,40}}\b{_MINOR_EN}"
        rf"|\b(sex(ual|y)?|nude|naked|erotic|porn\w*|explicit|lewd|nsfw)\b.{{0,20}}\b(story|pictures?|"
        rf"photos?|images?|videos?|pics|content|roleplay|fantasy|scene)\b.{{0,30}}\b{_MINOR_EN}"
        rf"|\b(groom|seduce|lure|get alone with|have sex with|sleep with|hook up with)\b.{{0,20}}"
        rf"\b(a |an |my )?{_MINOR_EN}",
        1.6,
        detail="sexual content involving minors",
    ),
    _r(
        "unsafe",
        "sexual_minors",
        rf"(写|生成|发|找|看|要|描写|描述|给我|分享|下载|拍)(.{{0,10}}){_MINOR_ZH}(.{{0,10}})(色情|裸照|裸体|"
        rf"性爱|做爱|性交|淫秽|黄色|露骨|性感)|(写|生成|发|找|看|要|描写|给我|分享|下载)(.{{0,6}})(色情|"
        rf"裸照|裸体|性爱|淫秽|黄色|露骨)(.{{0,10}}){_MINOR_ZH}|(怎么|如何|教我).{{0,6}}(引诱|诱骗|哄骗|勾引|"
        rf"约|搞到|睡)(.{{0,6}}){_MINOR_ZH}",
        1.6,
        detail="sexual content involving minors",
    ),
    _r(
        "unsafe",
        "sexual_minors",
        rf"{_MINOR_ZH}(.{{0,10}})(色情|裸照|裸体|性爱|做爱|淫秽|开房|约炮)|(色情|裸照|淫秽)(.{{0,10}})"
        rf"{_MINOR_ZH}|\b(sex(ual)?|nude|naked|erotic|porn\w*)\b.{{0,25}}\b{_MINOR_EN}",
        0.9,
        detail="sexual content involving minors",
        mitigable=True,
    ),
)
